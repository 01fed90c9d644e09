// A tool spec and in-memory io for this package's tests (not built).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flag, int, list, text } from './option-spec.js';
import { runTool, type ToolContext, type ToolIo, type ToolSpec } from './run-tool.js';

export const testOptions = {
  'tcp-established': flag('tcp'),
  'shell-job': flag('job', { short: 'j' }),
  'leave-running': flag('leave running', { short: 'R' }),
  tree: int('pid', { short: 't', min: 1 }),
  root: text('root', { short: 'r' }),
  external: list('external'),
} as const;

export type TestContext = ToolContext<typeof testOptions>;

export interface TestRun {
  code: number;
  stdout: string;
  stderr: string;
  ctx: TestContext | undefined;
}

export function tempDir(t: { teardown(fn: () => void): void }, rm: (path: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'criu-cli-'));
  t.teardown(() => rm(dir));
  return dir;
}

/** Run the test tool in-process; `body` runs as the tool's run(). */
export async function runTestTool(
  argv: string[],
  setup: { env?: Record<string, string>; cwd: string; globalConfigPath?: string },
  body: (ctx: TestContext) => void | Promise<void> = () => undefined,
): Promise<TestRun> {
  const result: TestRun = { code: -1, stdout: '', stderr: '', ctx: undefined };
  const io: ToolIo = {
    argv,
    env: setup.env ?? {},
    cwd: setup.cwd,
    globalConfigPath: setup.globalConfigPath ?? join(setup.cwd, 'no-such-global.conf'),
    stdout: (s) => void (result.stdout += s),
    stderr: (s) => void (result.stderr += s),
  };
  const spec: ToolSpec<typeof testOptions> = {
    name: 'criu-test',
    summary: 'a tool for tests',
    usage: 'criu-test [mode] [options]',
    options: testOptions,
    positionals: [{ name: 'mode', describe: 'a or b', choices: ['a', 'b'] }],
    run: async (ctx) => {
      result.ctx = ctx;
      await body(ctx);
    },
  };
  result.code = await runTool(spec, io);
  return result;
}
