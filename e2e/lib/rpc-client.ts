// Running an RPC client program (pycriu, go-criu) that prints one JSON
// object per step, and reading its steps back.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { workspaceRoot } from './workspace.js';

/** The `criu` umbrella the clients exec, as runc and pycriu do: `criu swrk FD`. */
export const criuBin = join(workspaceRoot, 'node_modules', '.bin', 'criu');

export type Step = Readonly<Record<string, unknown>> & { step: string };

export interface ClientRun {
  status: number | null;
  steps: Map<string, Step>;
  stderr: string;
}

export function runClient(command: string, args: readonly string[], timeoutMs: number, env?: NodeJS.ProcessEnv): ClientRun {
  const run = spawnSync(command, args, { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', env: env ?? process.env });
  const steps = new Map<string, Step>();
  for (const line of run.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const step = JSON.parse(line) as Step;
    steps.set(step.step, step);
  }
  return { status: run.status, steps, stderr: run.stderr };
}
