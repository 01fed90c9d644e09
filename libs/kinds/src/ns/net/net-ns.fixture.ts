// A fresh network namespace for the unit tests of ns/net: held by a
// `sleep` started with `unshare -n`, opened as a handle, and gone (the
// sleep killed and reaped, the handle closed) on teardown.
import type { Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { createLogger, type Logger } from '@criu-ts/base';
import { sleepSync } from '@criu-ts/kernel';
import { closeNetNs, openNetNs, type NetNsHandle } from './net-ns-enter.js';

export function freshNetNs(t: Test): NetNsHandle {
  const child = spawn('unshare', ['-n', 'sleep', '300'], { stdio: 'ignore' });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const own = readlinkSync('/proc/self/ns/net');
  for (const end = Date.now() + 10_000; ; sleepSync(10)) {
    if (Date.now() > end) throw new Error('unshare -n sleep did not start in a namespace of its own');
    try {
      if (readlinkSync(`/proc/${child.pid}/ns/net`) !== own && readlinkSync(`/proc/${child.pid}/exe`).endsWith('sleep')) break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  const ns = openNetNs(`/proc/${child.pid}/ns/net`);
  t.teardown(() => closeNetNs(ns));
  return ns;
}

/** A command's output inside the namespace (through /proc/self/fd of a child holding its fd). */
export function inside(ns: NetNsHandle, argv: readonly string[]): string {
  const run = spawnSync('nsenter', ['--net=/proc/self/fd/3', '--', ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', ns.fd], timeout: 30_000 });
  if (run.status !== 0) throw new Error(`${argv.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

/** A logger that keeps errors and warnings only (to stderr). */
export function quietLog(): Logger {
  return createLogger({ fd: 2, level: 1, withPid: false, start: process.hrtime.bigint() }, 'test');
}
