// C fixtures are compiled at test time from e2e/fixtures/NAME.c with the
// machine's gcc, into a per-run temporary directory that the test removes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { fixturesDir } from './workspace.js';

/** A scratch directory removed when the test ends, pass or fail. */
export function scratchDir(t: Test, prefix = 'criu-ts-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Compile e2e/fixtures/NAME.c into DIR and return the binary's path. */
export function compileFixture(name: string, dir: string, extraFlags: string[] = []): string {
  const out = join(dir, name);
  execFileSync('gcc', ['-O1', '-g', '-Wall', '-o', out, join(fixturesDir, `${name}.c`), '-lpthread', ...extraFlags], {
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 60_000,
  });
  return out;
}
