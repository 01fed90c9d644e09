// The channel to criu-launcher (native/criu-launcher.c), the process the
// umbrella runs `criu swrk` and `criu restore -S` under: it names one end
// of a SOCK_SEQPACKET socketpair in CRIU_TS_SIBLING_FD, on which a restore
// asks it to clone the root task as a child of criu's parent (the RPC
// client, the shell), which is what -S/--restore-sibling and RPC
// rst_sibling mean. The RPC service hands it on to the criu-restore it runs.
type Env = Readonly<Record<string, string | undefined>>;

export const SIBLING_FD_ENV = 'CRIU_TS_SIBLING_FD';

/** The launcher channel's fd, when this tool runs under criu-launcher. */
export function launcherChannel(env: Env): number | undefined {
  const raw = env[SIBLING_FD_ENV];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
}
