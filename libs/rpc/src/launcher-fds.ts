// Fds the client passed to `criu` (the swrk socket, inherit_fd's, ps.fd).
// Run through the `criu` umbrella, this tool is the umbrella's child, and
// Node marks inherited fds close-on-exec, so they stay with the umbrella
// (CRIU_TS_LAUNCHER_PID names it): we copy the one we need with
// pidfd_getfd. Run directly, the fd is our own.
import { closeSync } from 'node:fs';
import { LAUNCHER_PID_ENV } from '@criu-ts/cli';
import { pidfdGetfd, pidfdOpen } from '@criu-ts/kernel';

/** Our fd for the client's fd `n` (a copy, close-on-exec, when it comes from the umbrella). */
export function launcherFd(n: number, env: Readonly<Record<string, string | undefined>> = process.env): number {
  const raw = env[LAUNCHER_PID_ENV];
  if (raw === undefined || !/^\d+$/.test(raw)) return n;
  const pidfd = pidfdOpen(Number(raw));
  try {
    return pidfdGetfd(pidfd, n);
  } finally {
    closeSync(pidfd);
  }
}
