// A task's fd table as a test compares it before a dump and after the
// restore: fd number → link (pipe numbers masked: the pipes are new),
// flags and pos from fdinfo; fds above 2.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

const O_DIRECTORY = 0o200000;

/**
 * fd number → "link flags F pos P". `withoutDirectoryFlag`: O_DIRECTORY
 * left out (upstream 4.2's restore reopens a directory without it, from
 * its own images as from ours, which both save it).
 */
export function fdTable(pid: number, withoutDirectoryFlag = false): [number, string][] {
  return readdirSync(`/proc/${pid}/fd`)
    .map(Number)
    .filter((fd) => fd > 2)
    .sort((a, b) => a - b)
    .map((fd) => {
      const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
      const field = (key: string): string => new RegExp(`^${key}:\\s*(\\S+)`, 'm').exec(info)?.[1] ?? '';
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/^pipe:\[\d+\]$/, 'pipe:[N]');
      const flags = parseInt(field('flags'), 8) & ~(withoutDirectoryFlag ? O_DIRECTORY : 0);
      return [fd, `${link} flags 0${flags.toString(8)} pos ${field('pos')}`];
    });
}
