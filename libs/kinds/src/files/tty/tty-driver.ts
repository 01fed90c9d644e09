// Which terminal a character device is, by its device number, as CRIU
// tells them apart: Unix98 pty masters (/dev/ptmx) and slaves (/dev/pts/N),
// /dev/console, /dev/tty (the caller's controlling terminal) and virtual
// consoles /dev/tty1../dev/tty63. Each terminal gets a tty-info id: the pty
// index times two, plus one for a master, so both ends of a pair sit side
// by side; the single-instance terminals use fixed indices past the pty
// range. Legacy BSD ptys, serial lines and /dev/tty0 are refused, as in
// CRIU. See pty(7), tty(4), console(4).
import { TtyType } from '@criu-ts/images';

/** Device majors from linux/major.h */
const TTY_MAJOR = 4;
const TTYAUX_MAJOR = 5;
const UNIX98_PTY_MASTER_MAJOR = 128;
const UNIX98_PTY_MAJOR_COUNT = 8;
const UNIX98_PTY_SLAVE_MAJOR = 136;
const MAX_NR_CONSOLES = 63;

/** CRIU's limit on pty indices (the restore side opens ptmx until it gets the index). */
export const MAX_PTY_INDEX = 1000;
/** Fixed indices of the single-instance terminals (even, past MAX_PTY_INDEX). */
const CONSOLE_INDEX = 1002;
const VT_INDEX = 1004;
const CTTY_INDEX = 1006;

export type TtyRole = 'master' | 'slave' | 'single';

export interface TtyDriver {
  /** log name, as CRIU's: ptmx, pts, console, ctty, vt */
  name: string;
  type: TtyType;
  role: TtyRole;
  /** the index of single-instance terminals; ptys get theirs from the fd */
  index?: number;
}

export type TtyClass = { driver: TtyDriver } | { refused: string } | undefined;

const PTMX: TtyDriver = { name: 'ptmx', type: TtyType.PTY, role: 'master' };
const PTS: TtyDriver = { name: 'pts', type: TtyType.PTY, role: 'slave' };
const CONSOLE: TtyDriver = { name: 'console', type: TtyType.CONSOLE, role: 'single', index: CONSOLE_INDEX };
const CTTY: TtyDriver = { name: 'ctty', type: TtyType.CTTY, role: 'single', index: CTTY_INDEX };
const VT: TtyDriver = { name: 'vt', type: TtyType.VT, role: 'single', index: VT_INDEX };

const AUX_MINORS: readonly (TtyDriver | undefined)[] = [CTTY, CONSOLE, PTMX];

/** Majors of terminals we refuse, with what they are. */
const REFUSED_MAJORS: ReadonlyMap<number, string> = new Map([
  [2, 'legacy BSD pty master'],
  [3, 'legacy BSD pty slave'],
  [188, 'USB serial terminal'],
  [204, 'low-density serial terminal'],
]);

/**
 * The driver of a character device (major, minor), a refusal for the
 * terminals CRIU cannot dump, or undefined if it is no terminal at all.
 */
export function classifyTty(major: number, minor: number): TtyClass {
  if (major === TTYAUX_MAJOR) {
    const driver = AUX_MINORS[minor];
    return driver === undefined ? undefined : { driver };
  }
  if (major === TTY_MAJOR) {
    if (minor >= 1 && minor <= MAX_NR_CONSOLES) return { driver: VT };
    return { refused: minor === 0 ? 'the current virtual console /dev/tty0' : 'serial terminal' };
  }
  if (major >= UNIX98_PTY_MASTER_MAJOR && major < UNIX98_PTY_MASTER_MAJOR + UNIX98_PTY_MAJOR_COUNT) return { driver: PTMX };
  if (major === UNIX98_PTY_SLAVE_MAJOR) return { driver: PTS };
  const refused = REFUSED_MAJORS.get(major);
  return refused === undefined ? undefined : { refused };
}

/** tty_info_entry id: index * 2, plus 1 for a pty master. */
export function ttyInfoId(driver: TtyDriver, index: number): number {
  return index * 2 + (driver.role === 'master' ? 1 : 0);
}

/** The pty index behind a tty-info id. */
export function indexOfInfoId(id: number): number {
  return Math.floor(id / 2);
}

/** The info id of the other end of a pty pair. */
export function peerInfoId(id: number): number {
  return id % 2 === 0 ? id + 1 : id - 1;
}
