// The requests served by running a tool: DUMP, PRE_DUMP, SINGLE_PRE_DUMP,
// RESTORE, CHECK, CPUINFO_DUMP, CPUINFO_CHECK and PAGE_SERVER. Each builds
// the tool's command line from criu_opts (request-args.ts), runs it
// (tool-run.ts) with notify relayed to the client when notify_scripts is
// set, and answers as upstream criu does.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasField, RpcError, type CriuOpts, type CriuReq, type CriuResp, type ReqType } from './messages.js';
import { relayNotify } from './notify.js';
import type { Mode } from './opts-table.js';
import { requestArgs, type RequestArgs } from './request-args.js';
import { failure } from './respond.js';
import type { Handler, SessionContext } from './session-context.js';
import { removeScratch, runToolChild, scratchDir, type PassedFd, type ToolOutcome } from './tool-run.js';

interface Plan {
  tool: string;
  mode: Mode;
  /** words before the request's options, e.g. ['pre-dump'] */
  head: (ctx: SessionContext, opts: CriuOpts, scratch: string) => string[];
  imagesOptional?: boolean;
}

function dumpPid(ctx: SessionContext, opts: CriuOpts): number {
  return hasField(opts, 'pid') ? Number(opts.pid) : ctx.peer.pid;
}

/** ps in a dump: send pages to a page server (ps.fd, an already connected socket, only for the page server itself). */
function pageServerArgs(opts: CriuOpts, mode: Mode): string[] {
  if (!hasField(opts, 'ps')) return [];
  const ps = opts.ps as { address?: string; port?: number; fd?: number };
  if (mode === 'restore') return [];
  if (mode !== 'page-server' && ps.fd !== undefined) throw new RpcError('criu_opts.ps.fd (a connected page-server socket) is supported only for PAGE_SERVER');
  const address = ps.address === undefined ? [] : ['--address', ps.address];
  const port = ps.port === undefined ? [] : ['--port', String(ps.port)];
  const socket = ps.fd === undefined ? [] : ['--ps-socket', String(ps.fd)];
  // a lazy dump serves its lazy pages itself on ps.port (upstream: no use_page_server then)
  const lazyDump = opts.lazy_pages === true && mode !== 'page-server';
  return [...(mode === 'page-server' || lazyDump ? [] : ['--page-server']), ...address, ...port, ...socket];
}

/** orphan_pts_master acts on dump (an unpaired pty slave is allowed) and restore (it gets a new pty, whose master goes to the client) */
const ORPHAN_PTS_MODES: ReadonlySet<Mode> = new Set(['dump', 'pre-dump', 'restore']);

const PLANS: Readonly<Partial<Record<ReqType, Plan>>> = {
  DUMP: { tool: 'criu-dump', mode: 'dump', head: (ctx, opts) => ['-t', String(dumpPid(ctx, opts))] },
  PRE_DUMP: { tool: 'criu-dump', mode: 'pre-dump', head: (ctx, opts) => ['pre-dump', '-t', String(dumpPid(ctx, opts))] },
  SINGLE_PRE_DUMP: { tool: 'criu-dump', mode: 'pre-dump', head: (ctx, opts) => ['pre-dump', '-t', String(dumpPid(ctx, opts))] },
  RESTORE: { tool: 'criu-restore', mode: 'restore', head: (_ctx, _opts, scratch) => ['--restore-detached', '--pidfile', join(scratch, 'pid')] },
  CHECK: { tool: 'criu-check', mode: 'check', head: () => [], imagesOptional: true },
  CPUINFO_DUMP: { tool: 'criu-cpuinfo', mode: 'cpuinfo', head: () => ['dump'] },
  CPUINFO_CHECK: { tool: 'criu-cpuinfo', mode: 'cpuinfo', head: () => ['check'] },
  PAGE_SERVER: { tool: 'criu-page-server', mode: 'page-server', head: (_ctx, _opts, scratch) => ['--daemon', '--pidfile', join(scratch, 'pid')] },
};

/**
 * fds the tool gets: inherit_fd's and ps.fd, at the numbers the request
 * names. They are the client's fds passed to criu at exec (as upstream
 * takes them from its own fd table), or — when the request carried fds
 * (SCM_RIGHTS) — those, in inherit_fd's order.
 */
function passedFds(opts: CriuOpts, fds: readonly number[]): PassedFd[] {
  const inherit = hasField(opts, 'inherit_fd') ? (opts.inherit_fd as { fd: number }[]) : [];
  if (fds.length > 0 && fds.length !== inherit.length) throw new RpcError(`the request carried ${fds.length} fds for ${inherit.length} inherit_fd entries`);
  const ps = hasField(opts, 'ps') ? (opts.ps as { fd?: number }).fd : undefined;
  const wanted = [...inherit.map((entry) => entry.fd), ...(ps === undefined ? [] : [ps])];
  return wanted.map((at, i) => ({ at, fd: fds[i] ?? at }));
}

function outcomeFailure(type: ReqType, plan: Plan, outcome: ToolOutcome): CriuResp {
  if (outcome.error !== undefined) return failure(type, outcome.error.message, outcome.error.code);
  const line = outcome.output.split('\n').find((text) => text.includes('Error')) ?? outcome.output.split('\n')[0] ?? '';
  const how = outcome.signal === null ? `exited with ${outcome.code}` : `was killed by ${outcome.signal}`;
  return failure(type, line.trim() === '' ? `${plan.tool} ${how}` : line.trim(), 'ECRIU');
}

function successFor(type: ReqType, scratch: string): CriuResp {
  if (type === 'DUMP') return { type, success: true, dump: { restored: false } };
  if (type === 'RESTORE') return { type, success: true, restore: { pid: Number(readFileSync(join(scratch, 'pid'), 'utf8')) } };
  return { type, success: true };
}

async function runPlan(ctx: SessionContext, req: CriuReq, plan: Plan, args: RequestArgs, fds: number[], scratch: string): Promise<CriuResp> {
  const opts = req.opts ?? {};
  for (const field of args.ignored) ctx.log.info(`criu_opts.${field} does not apply to ${req.type}; ignored`);
  const argv = [...plan.head(ctx, opts, scratch), ...args.argv, ...pageServerArgs(opts, plan.mode)];
  const notify = opts.notify_scripts === true ? (action: string, pid: number | undefined, sent: readonly number[]) => relayNotify(ctx, action, pid, sent) : undefined;
  const outcome = await runToolChild({
    tool: plan.tool, args: argv, log: ctx.log, configFile: args.configFile, notify, passFds: passedFds(opts, fds), scratch,
    siblingChannel: plan.mode === 'restore' ? ctx.siblingChannel : undefined,
    orphanPtsMaster: opts.orphan_pts_master === true && ORPHAN_PTS_MODES.has(plan.mode),
  });
  if (outcome.code !== 0) return outcomeFailure(req.type, plan, outcome);
  if (req.type === 'PAGE_SERVER') return pageServerStarted(opts, scratch);
  return successFor(req.type, scratch);
}

function pageServerStarted(opts: CriuOpts, scratch: string): CriuResp {
  const ps = (opts.ps ?? {}) as { port?: number };
  return { type: 'PAGE_SERVER', success: true, ps: { pid: Number(readFileSync(join(scratch, 'pid'), 'utf8')), ...(ps.port === undefined ? {} : { port: ps.port }) } };
}

/** The handler of a tool-served request type. */
export function toolHandler(type: ReqType): Handler | undefined {
  const plan = PLANS[type];
  if (plan === undefined) return undefined;
  return async (ctx, req, fds) => {
    if (type === 'PAGE_SERVER' && !hasField(req.opts, 'ps')) throw new RpcError('PAGE_SERVER needs criu_opts.ps (the port to listen on)');
    const args = requestArgs(req.opts, { mode: plan.mode, swrk: ctx.swrk, peerPid: ctx.peer.pid, imagesOptional: plan.imagesOptional });
    const scratch = scratchDir();
    try {
      const resp = await runPlan(ctx, req, plan, args, fds, scratch);
      // a dump of the client itself that killed it: nobody is left to answer (upstream sends nothing)
      if (type === 'DUMP' && resp.success && !hasField(req.opts, 'pid') && req.opts?.leave_running !== true) return undefined;
      return resp;
    } finally {
      removeScratch(scratch);
    }
  };
}
