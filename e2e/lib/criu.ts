// Run our tools as users do: a real process, our binary by its workspace
// path, a bounded time.
import { execa, type Result } from 'execa';
import { toolPath } from './workspace.js';

export interface ToolRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function runTool(name: string, args: string[], options: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ToolRun> {
  const result: Result = await execa(process.execPath, [toolPath(name), ...args], {
    reject: false,
    timeout: options.timeoutMs ?? 60_000,
    input: options.input,
    env: options.env,
    stdin: options.input === undefined ? 'ignore' : undefined,
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

export const criuDump = (args: string[], timeoutMs?: number): Promise<ToolRun> => runTool('criu-dump', args, { timeoutMs });
