// /proc/PID/status and /proc/PID/task/TID/status: "Key:\tvalue" lines, see
// proc_pid_status(5). Fields keep the kernel's names; every line is also
// kept raw. Masks (signals, capabilities) are bigint.
import { decodeCEscapes } from './escapes.js';
import { malformed, procPath, readProcText, type Source } from './proc-files.js';

export type IdQuad = [real: number, effective: number, saved: number, filesystem: number];

export interface ProcStatus {
  /** comm, unescaped (the kernel shows a newline as "\n", a backslash as "\\") */
  Name: string;
  Umask: number | undefined;
  /** the state letter: R S D T t X Z P I */
  State: string;
  Tgid: number;
  Ngid: number | undefined;
  Pid: number;
  PPid: number;
  TracerPid: number;
  Uid: IdQuad;
  Gid: IdQuad;
  FDSize: number | undefined;
  Groups: number[];
  /** ids in each pid namespace, outermost first; undefined on old kernels */
  NStgid: number[] | undefined;
  NSpid: number[] | undefined;
  NSpgid: number[] | undefined;
  NSsid: number[] | undefined;
  Threads: number;
  SigQ: { queued: number; limit: number };
  SigPnd: bigint;
  ShdPnd: bigint;
  SigBlk: bigint;
  SigIgn: bigint;
  SigCgt: bigint;
  CapInh: bigint;
  CapPrm: bigint;
  CapEff: bigint;
  CapBnd: bigint;
  CapAmb: bigint | undefined;
  NoNewPrivs: number | undefined;
  Seccomp: number | undefined;
  Seccomp_filters: number | undefined;
  Speculation_Store_Bypass: string | undefined;
  Cpus_allowed_list: string | undefined;
  Mems_allowed_list: string | undefined;
  voluntary_ctxt_switches: number | undefined;
  nonvoluntary_ctxt_switches: number | undefined;
  /** the "N kB" lines (VmPeak, VmRSS, RssAnon, VmSwap, HugetlbPages, ...) in kB; empty for zombies and kernel threads */
  memory: Record<string, number>;
  /** every line: key → value as shown (without the tab after the colon) */
  raw: Record<string, string>;
}

interface Fields {
  raw: Record<string, string>;
  lineOf: Record<string, number>;
  source: Source;
}

function get(f: Fields, key: string): string {
  const value = f.raw[key];
  if (value === undefined) throw malformed(f.source, undefined, `no ${key} line`);
  return value;
}

function num(f: Fields, key: string, value: string, radix: 8 | 10 = 10): number {
  const n = radix === 10 ? Number(value) : parseInt(value, radix);
  if (!(radix === 10 ? /^-?\d+$/ : /^[0-7]+$/).test(value) || !Number.isSafeInteger(n)) throw malformed(f.source, f.lineOf[key], `${key} is not a number`, value);
  return n;
}

function optNum(f: Fields, key: string): number | undefined {
  const value = f.raw[key];
  return value === undefined ? undefined : num(f, key, value.trim());
}

function list(f: Fields, key: string, value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  return value.split(/\s+/).filter((s) => s !== '').map((s) => num(f, key, s));
}

function mask(f: Fields, key: string, value: string | undefined): bigint {
  if (value === undefined) throw malformed(f.source, undefined, `no ${key} line`);
  if (!/^[0-9a-fA-F]+$/.test(value)) throw malformed(f.source, f.lineOf[key], `${key} is not a hex mask`, value);
  return BigInt(`0x${value}`);
}

function quad(f: Fields, key: string): IdQuad {
  const ids = list(f, key, get(f, key)) ?? [];
  if (ids.length !== 4) throw malformed(f.source, f.lineOf[key], `${key} needs 4 ids`, f.raw[key]);
  return ids as IdQuad;
}

function splitLines(text: string, source: Source): Fields {
  const f: Fields = { raw: {}, lineOf: {}, source };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed(source, i + 1, 'not a "Key: value" line', line);
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1);
    f.raw[key] = key === 'Name' ? value.replace(/^\t/, '') : value.trim();
    f.lineOf[key] = i + 1;
  }
  return f;
}

function memoryLines(f: Fields): Record<string, number> {
  const memory: Record<string, number> = {};
  for (const [key, value] of Object.entries(f.raw)) {
    if (value.endsWith(' kB')) memory[key] = num(f, key, value.slice(0, -3).trim());
  }
  return memory;
}

function sigQ(f: Fields): { queued: number; limit: number } {
  const [queued, limit] = get(f, 'SigQ').split('/');
  return { queued: num(f, 'SigQ', queued ?? ''), limit: num(f, 'SigQ', limit ?? '') };
}

/** Parses the text of /proc/PID/status. */
export function parseStatus(text: string, source: Source = 'status'): ProcStatus {
  const f = splitLines(text, source);
  const r = f.raw;
  const umask = r.Umask;
  return {
    Name: decodeCEscapes(get(f, 'Name')),
    Umask: umask === undefined ? undefined : num(f, 'Umask', umask, 8),
    State: get(f, 'State').charAt(0),
    Tgid: num(f, 'Tgid', get(f, 'Tgid')),
    Ngid: optNum(f, 'Ngid'),
    Pid: num(f, 'Pid', get(f, 'Pid')),
    PPid: num(f, 'PPid', get(f, 'PPid')),
    TracerPid: num(f, 'TracerPid', get(f, 'TracerPid')),
    Uid: quad(f, 'Uid'),
    Gid: quad(f, 'Gid'),
    FDSize: optNum(f, 'FDSize'),
    Groups: list(f, 'Groups', r.Groups) ?? [],
    NStgid: list(f, 'NStgid', r.NStgid),
    NSpid: list(f, 'NSpid', r.NSpid),
    NSpgid: list(f, 'NSpgid', r.NSpgid),
    NSsid: list(f, 'NSsid', r.NSsid),
    Threads: num(f, 'Threads', get(f, 'Threads')),
    SigQ: sigQ(f),
    SigPnd: mask(f, 'SigPnd', r.SigPnd),
    ShdPnd: mask(f, 'ShdPnd', r.ShdPnd),
    SigBlk: mask(f, 'SigBlk', r.SigBlk),
    SigIgn: mask(f, 'SigIgn', r.SigIgn),
    SigCgt: mask(f, 'SigCgt', r.SigCgt),
    CapInh: mask(f, 'CapInh', r.CapInh),
    CapPrm: mask(f, 'CapPrm', r.CapPrm),
    CapEff: mask(f, 'CapEff', r.CapEff),
    CapBnd: mask(f, 'CapBnd', r.CapBnd),
    CapAmb: r.CapAmb === undefined ? undefined : mask(f, 'CapAmb', r.CapAmb),
    NoNewPrivs: optNum(f, 'NoNewPrivs'),
    Seccomp: optNum(f, 'Seccomp'),
    Seccomp_filters: optNum(f, 'Seccomp_filters'),
    Speculation_Store_Bypass: r.Speculation_Store_Bypass,
    Cpus_allowed_list: r.Cpus_allowed_list,
    Mems_allowed_list: r.Mems_allowed_list,
    voluntary_ctxt_switches: optNum(f, 'voluntary_ctxt_switches'),
    nonvoluntary_ctxt_switches: optNum(f, 'nonvoluntary_ctxt_switches'),
    memory: memoryLines(f),
    raw: r,
  };
}

export function readStatus(pid: number, tid?: number): ProcStatus {
  const path = procPath(pid, 'status', tid);
  return parseStatus(readProcText(pid, path), path);
}

/** Expands a cpu/node list such as "0-3,8,10-11" (Cpus_allowed_list) into numbers. */
export function parseCpuList(text: string, source: Source = 'cpu list'): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) throw malformed(source, 1, 'not a cpu list', text);
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}
