// --freeze-cgroup DIR: the tree is stopped by its freezer cgroup before it
// is seized, as upstream does — cgroup v1 (freezer.state: FROZEN/THAWED)
// or v2 (cgroup.freeze 1/0, done when cgroup.events says "frozen 1").
// Once frozen, every thread in the cgroup and below is listed (v1 tasks,
// v2 cgroup.threads) for the dump to seize and interrupt while nothing
// can run; then the cgroup is thawed and the threads stop in their
// ptrace-stops. The state it had before is what dump saves as
// freezer.state and puts back when the tree runs on.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { CriuError, errnoOf, type Logger } from '@criu-ts/base';
import { sleepSync } from '@criu-ts/kernel';

export interface FrozenCgroup {
  /** the state before we froze it */
  readonly origin: 'THAWED' | 'FROZEN';
  /** every thread id in the cgroup and its descendants, read while frozen */
  readonly threads: readonly number[];
  /** thaw (the tree's threads are seized by then) */
  thaw(): void;
  /** put back the state it had (frozen again if it was); never throws */
  restoreOrigin(): void;
}

interface Freezer {
  v2: boolean;
  read(): 'THAWED' | 'FREEZING' | 'FROZEN';
  write(frozen: boolean): void;
}

function freezerOf(dir: string): Freezer {
  if (existsSync(`${dir}/freezer.state`)) {
    return {
      v2: false,
      read: () => {
        const state = readFileSync(`${dir}/freezer.state`, 'utf8').trim();
        if (state !== 'THAWED' && state !== 'FREEZING' && state !== 'FROZEN') throw new CriuError(`${dir}/freezer.state: unknown state '${state}'`, { code: 'EINVAL' });
        return state;
      },
      write: (frozen) => writeFileSync(`${dir}/freezer.state`, frozen ? 'FROZEN' : 'THAWED'),
    };
  }
  if (existsSync(`${dir}/cgroup.freeze`)) {
    return {
      v2: true,
      read: () => {
        if (readFileSync(`${dir}/cgroup.freeze`, 'utf8').trim() === '0') return 'THAWED';
        return /^frozen 1$/m.test(readFileSync(`${dir}/cgroup.events`, 'utf8')) ? 'FROZEN' : 'FREEZING';
      },
      write: (frozen) => writeFileSync(`${dir}/cgroup.freeze`, frozen ? '1' : '0'),
    };
  }
  throw new CriuError(`--freeze-cgroup ${dir}: neither a cgroup v1 freezer (freezer.state) nor a cgroup v2 cgroup (cgroup.freeze)`, { code: 'ENOENT' });
}

function threadsBelow(dir: string, v2: boolean): number[] {
  const list = readFileSync(`${dir}/${v2 ? 'cgroup.threads' : 'tasks'}`, 'utf8').split('\n').filter((line) => line !== '').map(Number);
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) list.push(...threadsBelow(`${dir}/${entry.name}`, v2));
  return list;
}

/** Freezes the cgroup at dir (bounded by timeoutMs) and lists its threads. */
export function freezeCgroup(dir: string, timeoutMs: number, log: Logger): FrozenCgroup {
  const freezer = freezerOf(dir);
  const before = freezer.read();
  const origin = before === 'THAWED' ? 'THAWED' : 'FROZEN';
  const put = (frozen: boolean): void => {
    try {
      freezer.write(frozen);
    } catch (error) {
      log.error(`--freeze-cgroup ${dir}: could not ${frozen ? 'freeze' : 'thaw'} it: ${errnoOf(error) ?? String(error)}`);
    }
  };
  try {
    if (before !== 'FROZEN') freezer.write(true);
    const deadline = Date.now() + Math.max(timeoutMs, 1000);
    for (let round = 0; freezer.read() !== 'FROZEN'; round++) {
      if (Date.now() > deadline) throw new CriuError(`--freeze-cgroup ${dir}: not frozen within ${Math.round(timeoutMs / 1000)} s`, { code: 'ETIMEDOUT' });
      // cgroup v1 may stay FREEZING: ask again now and then, as upstream does
      if (!freezer.v2 && round % 32 === 9) freezer.write(true);
      sleepSync(round < 10 ? 1 : 20);
    }
  } catch (error) {
    if (origin === 'THAWED') put(false);
    throw error;
  }
  log.info(`--freeze-cgroup ${dir}: frozen (it was ${origin.toLowerCase()})`);
  return {
    origin,
    threads: threadsBelow(dir, freezer.v2),
    thaw: () => put(false),
    restoreOrigin: () => put(origin === 'FROZEN'),
  };
}
