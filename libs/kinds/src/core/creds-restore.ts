// Restoring a thread's credentials (creds_entry of thread_core) from inside
// the thread, in the order upstream CRIU's restorer uses, which keeps the
// privileges each step needs until the step that gives them up:
// supplementary groups; SECURE_NO_SETUID_FIXUP so changing uids keeps the
// capabilities; real/effective/saved then fs uid, same for gids; the saved
// securebits; bounding-set drops; capset(2) of effective/permitted/
// inheritable; ambient raises; no_new_privs. Capabilities the thread does
// not hold now cannot be given back (capset would fail): refused up front,
// naming them. LSM labels are not restored. See credentials(7),
// capabilities(7), prctl(2) PR_SET_SECUREBITS.
import { CriuError, UnsupportedError } from '@criu-ts/base';
import type { Messages } from '@criu-ts/images';
import { CAPABILITY_VERSION_3, PR, SYS } from '@criu-ts/kernel';
import type { NamedCall } from './injected-batch.js';

export type CredsEntry = Messages['creds_entry'];

/** linux/securebits.h */
const SECURE_NO_SETUID_FIXUP = 2;
const SECBIT_NO_CAP_AMBIENT_RAISE = 1 << 6;
const PR_CAP_AMBIENT_RAISE = 2;
/** setfsuid(-1) changes nothing and answers the current fsuid */
const ASK = 0xffffffff;
/** cap header (8) + two cap data structs (12 each) */
const CAPSET_BYTES = 8 + 2 * 12;

/** A 64-bit capability set from the image's two 32-bit words (missing words are 0). */
export function capMask(words: readonly number[] | undefined): bigint {
  const [low = 0, high = 0] = words ?? [];
  return BigInt(low >>> 0) | (BigInt(high >>> 0) << 32n);
}

function bits(mask: bigint, last: number): number[] {
  return Array.from({ length: last + 1 }, (_, cap) => cap).filter((cap) => ((mask >> BigInt(cap)) & 1n) !== 0n);
}

/** The bytes capset(2) reads: header {version 3, pid 0}, then {effective, permitted, inheritable} × 2. */
export function capsetStruct(creds: CredsEntry): Buffer {
  const buf = Buffer.alloc(CAPSET_BYTES);
  buf.writeUInt32LE(CAPABILITY_VERSION_3, 0);
  buf.writeInt32LE(0, 4);
  for (let word = 0; word < 2; word++) {
    buf.writeUInt32LE((creds.cap_eff?.[word] ?? 0) >>> 0, 8 + word * 12);
    buf.writeUInt32LE((creds.cap_prm?.[word] ?? 0) >>> 0, 12 + word * 12);
    buf.writeUInt32LE((creds.cap_inh?.[word] ?? 0) >>> 0, 16 + word * 12);
  }
  return buf;
}

/** What the calls read from the thread's scratch: the groups, then the capset struct. */
export function credsScratch(creds: CredsEntry): { bytes: Buffer; groupsAt: number; capsAt: number } {
  const list = creds.groups ?? [];
  const groups = Buffer.alloc(list.length * 4);
  list.forEach((gid, i) => groups.writeUInt32LE(gid >>> 0, i * 4));
  const capsAt = Math.ceil(groups.length / 8) * 8;
  const bytes = Buffer.alloc(capsAt + CAPSET_BYTES);
  groups.copy(bytes, 0);
  capsetStruct(creds).copy(bytes, capsAt);
  return { bytes, groupsAt: 0, capsAt };
}

/** Refuses what cannot be restored: capabilities this thread lacks, ambient raises that securebits forbid. */
export function checkCreds(tid: number, creds: CredsEntry, held: bigint, lastCap: number): void {
  const missing = bits(capMask(creds.cap_prm) & ~held, 63);
  if (missing.length > 0) {
    throw new CriuError(`thread ${tid} had capabilities ${missing.join(', ')} in its permitted set, which this restore does not hold: cannot give them back`, {
      code: 'EPERM',
      hint: 'restore as a user holding every capability the dumped tasks had',
    });
  }
  if ((creds.secbits & SECBIT_NO_CAP_AMBIENT_RAISE) !== 0 && bits(capMask(creds.cap_amb), lastCap).length > 0) {
    throw new UnsupportedError({ pid: tid, kind: 'ambient capabilities with SECBIT_NO_CAP_AMBIENT_RAISE set' });
  }
}

/**
 * The injected calls that give a thread `creds`, given where credsScratch()
 * was written (scratchAddr) and the kernel's last capability.
 */
export function credsCalls(creds: CredsEntry, scratchAddr: bigint, lastCap: number): NamedCall[] {
  const { groupsAt, capsAt } = credsScratch(creds);
  const calls: NamedCall[] = [
    { name: 'setgroups', nr: SYS.setgroups, args: [creds.groups?.length ?? 0, scratchAddr + BigInt(groupsAt)] },
    { name: 'prctl(PR_SET_SECUREBITS, NO_SETUID_FIXUP)', nr: SYS.prctl, args: [PR.SET_SECUREBITS, 1 << SECURE_NO_SETUID_FIXUP, 0, 0, 0] },
    { name: 'setresuid', nr: SYS.setresuid, args: [creds.uid, creds.euid, creds.suid] },
    { name: 'setfsuid', nr: SYS.setfsuid, args: [creds.fsuid] },
    { name: 'setfsuid (check)', nr: SYS.setfsuid, args: [ASK], expect: BigInt(creds.fsuid) },
    { name: 'setresgid', nr: SYS.setresgid, args: [creds.gid, creds.egid, creds.sgid] },
    { name: 'setfsgid', nr: SYS.setfsgid, args: [creds.fsgid] },
    { name: 'setfsgid (check)', nr: SYS.setfsgid, args: [ASK], expect: BigInt(creds.fsgid) },
    { name: 'prctl(PR_SET_SECUREBITS)', nr: SYS.prctl, args: [PR.SET_SECUREBITS, creds.secbits, 0, 0, 0] },
  ];
  const bounding = capMask(creds.cap_bnd);
  for (let cap = 0; cap <= lastCap; cap++) {
    if (((bounding >> BigInt(cap)) & 1n) === 0n) calls.push({ name: `prctl(PR_CAPBSET_DROP, ${cap})`, nr: SYS.prctl, args: [PR.CAPBSET_DROP, cap, 0, 0, 0] });
  }
  const header = scratchAddr + BigInt(capsAt);
  calls.push({ name: 'capset', nr: SYS.capset, args: [header, header + 8n] });
  for (const cap of bits(capMask(creds.cap_amb), lastCap)) {
    calls.push({ name: `prctl(PR_CAP_AMBIENT_RAISE, ${cap})`, nr: SYS.prctl, args: [PR.CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0] });
  }
  if (creds.no_new_privs === 1) calls.push({ name: 'prctl(PR_SET_NO_NEW_PRIVS)', nr: SYS.prctl, args: [PR.SET_NO_NEW_PRIVS, 1, 0, 0, 0] });
  return calls;
}
