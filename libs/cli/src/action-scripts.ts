// --action-script: run the user's scripts at the stages criu(8) names.
// Each script is executed directly (it needs its x bit and a #! line) with
// CRTOOLS_SCRIPT_ACTION, CRTOOLS_IMAGE_DIR and, once the root task is known,
// CRTOOLS_INIT_PID in its environment; stdin is closed and its output goes
// to the log, as in criu. Every script runs; any failure fails the stage.
import { spawn } from 'node:child_process';
import { CriuError, type Logger } from '@criu-ts/base';
import { notifyService, serviceNotifies } from './service-channel.js';

/** the action names of criu(8) (plus pre-stream and status-ready, which upstream criu also sends) */
export const actionNames = [
  'pre-dump',
  'post-dump',
  'pre-restore',
  'post-restore',
  'pre-resume',
  'post-resume',
  'network-lock',
  'network-unlock',
  'setup-namespaces',
  'post-setup-namespaces',
  'orphan-pts-master',
  'pre-stream',
  'status-ready',
] as const;
export type ActionName = (typeof actionNames)[number];

export interface ActionScriptContext {
  readonly options: { readonly actionScript: readonly string[] };
  /** absolute images directory: CRTOOLS_IMAGE_DIR */
  readonly imagesDir: string;
  readonly log: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface ActionScriptExtra {
  /** the root task's real pid: CRTOOLS_INIT_PID */
  initPid?: number;
  /** more variables, e.g. for RPC-style notifications */
  env?: Readonly<Record<string, string>>;
}

function scriptEnv(ctx: ActionScriptContext, action: ActionName, extra: ActionScriptExtra): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(ctx.env)) if (value !== undefined) env[key] = value;
  env.CRTOOLS_SCRIPT_ACTION = action;
  env.CRTOOLS_IMAGE_DIR = ctx.imagesDir;
  if (extra.initPid !== undefined) env.CRTOOLS_INIT_PID = String(extra.initPid);
  return { ...env, ...extra.env };
}

/** Run one script; resolves to a failure description, or undefined when it exited 0. */
function runOne(script: string, env: Record<string, string>, logFd: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(script, [], { env, stdio: ['ignore', logFd, logFd] });
    child.once('error', (error) => resolve(`could not run: ${error.message}`));
    child.once('exit', (code, signal) => {
      if (signal !== null) resolve(`killed by ${signal}`);
      else resolve(code === 0 ? undefined : `exited with ${code}`);
    });
  });
}

/**
 * Run every --action-script for `action`, in command-line order, then tell
 * the RPC client (see service-channel.ts); a CriuError if any failed.
 */
export async function runActionScript(ctx: ActionScriptContext, action: ActionName, extra: ActionScriptExtra = {}): Promise<void> {
  await runScripts(ctx, action, extra);
  // the RPC client's notify_scripts: the same stages, after the scripts (as criu adds its RPC "script" last)
  if (serviceNotifies(ctx.env)) {
    ctx.log.debug(`Notifying the RPC client: ${action}`);
    notifyService(ctx.env, action, RPC_PID_ACTIONS.has(action) ? extra.initPid : undefined);
  }
}

/** the stages whose notification carries the root's pid, as criu's RPC sends it */
const RPC_PID_ACTIONS: ReadonlySet<ActionName> = new Set(['setup-namespaces', 'post-restore']);

async function runScripts(ctx: ActionScriptContext, action: ActionName, extra: ActionScriptExtra): Promise<void> {
  const scripts = ctx.options.actionScript;
  if (scripts.length === 0) return;
  ctx.log.debug(`Running ${action} scripts`);
  const env = scriptEnv(ctx, action, extra);
  const failures: string[] = [];
  for (const script of scripts) {
    ctx.log.debug(`\t[${script}]`);
    const failure = await runOne(script, env, ctx.log.sink.fd);
    if (failure === undefined) continue;
    ctx.log.error(`Script ${script} ${failure}`);
    failures.push(`${script} ${failure}`);
  }
  if (failures.length > 0) {
    throw new CriuError(`${action} action script failed: ${failures.join('; ')}`, { code: 'EACTIONSCRIPT' });
  }
}
