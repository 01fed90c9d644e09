// A thread's credentials (credentials(7), capabilities(7)) into
// thread_core.creds (creds_entry), as upstream CRIU 4.x fills it: real,
// effective, saved and filesystem uids/gids, supplementary groups, the
// inheritable/permitted/effective/bounding/ambient capability sets as two
// 32-bit words each (low word first), securebits and no_new_privs. All of
// it but securebits comes from /proc/PID/task/TID/status; securebits is
// asked of the thread (prctl(PR_GET_SECUREBITS)). LSM labels are not saved.
import type { Messages } from '@criu-ts/images';
import type { ProcStatus } from '@criu-ts/proc';

export type CredsEntry = Messages['creds_entry'];

/** A 64-bit capability mask as CRIU's CR_CAP_SIZE (2) words. */
export function capWords(mask: bigint): number[] {
  return [Number(mask & 0xffffffffn), Number((mask >> 32n) & 0xffffffffn)];
}

export function credsEntry(status: ProcStatus, secbits: number): CredsEntry {
  const [uid, euid, suid, fsuid] = status.Uid;
  const [gid, egid, sgid, fsgid] = status.Gid;
  const creds: CredsEntry = {
    uid, gid, euid, egid, suid, sgid, fsuid, fsgid,
    cap_inh: capWords(status.CapInh),
    cap_prm: capWords(status.CapPrm),
    cap_eff: capWords(status.CapEff),
    cap_bnd: capWords(status.CapBnd),
    secbits,
    groups: [...status.Groups],
  };
  if (status.NoNewPrivs !== undefined) creds.no_new_privs = status.NoNewPrivs;
  if (status.CapAmb !== undefined) creds.cap_amb = capWords(status.CapAmb);
  return creds;
}
