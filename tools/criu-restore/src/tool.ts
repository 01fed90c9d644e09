// criu-restore: `criu restore`. Restores the tree, writes --pidfile, and,
// unless -d, stays the root's parent and exits with its exit status
// (128 + N if a signal N killed it; either is also logged as an error).
// --stream: the images come as one stream, extracted in full before any
// task is made (stream-input.ts).
import { CriuError, UsageError, watchInterrupts } from '@criu-ts/base';
import {
  launcherChannel, notifyService, restoreOptions, runActionScript, serviceNotifies, serviceOrphanPtsMaster, writePidfile, type ToolContext, type ToolSpec,
} from '@criu-ts/cli';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { validateCpuinfo } from '@criu-ts/cpuinfo';
import { parseCgroupRoot, restoreTree, waitForRoot, type CgroupMode, type RestoreResult } from '@criu-ts/restore';
import { extractStream, streamSourceOptions, waitForPidsFree } from './stream-input.js';

const restoreToolOptions = { ...restoreOptions, ...streamSourceOptions } as const;
type RestoreContext = ToolContext<typeof restoreToolOptions>;

async function run(ctx: RestoreContext): Promise<void> {
  const o = ctx.options;
  if (o.restoreSibling && !o.restoreDetached) throw new UsageError('--restore-sibling only makes sense with --restore-detached');
  if (o.restoreSibling && launcherChannel(ctx.env) === undefined) {
    throw new UsageError('--restore-sibling: the root can become a child of criu\'s parent only when criu runs under criu-launcher', {
      hint: 'give -S on the command line of `criu restore` (the umbrella then starts criu-launcher), or use criu swrk',
    });
  }
  if (o.tree !== undefined) ctx.log.warn('Using -t with criu restore is obsoleted');
  if (!o.stream && (o.streamFile !== undefined || o.streamFd !== undefined)) throw new UsageError('--stream-file and --stream-fd go with --stream');
  if (o.stream && o.lazyPages) throw new UsageError('--lazy-pages with --stream: the lazy-pages daemon reads its pages from an images dir (or a page server), which a stream does not leave');
  const extracted = o.stream ? await extractStream({ file: o.streamFile, fd: o.streamFd }, ctx.log) : undefined;
  let result: RestoreResult;
  // SIGINT/SIGTERM before the tree runs fail the restore at its next stage: what it made is killed
  const interrupts = watchInterrupts();
  try {
    if (extracted !== undefined) await waitForPidsFree(extracted.dir, ctx.log);
    result = await restoreFrom(ctx, extracted?.dir ?? ctx.imagesDir);
  } finally {
    interrupts.dispose();
    extracted?.remove();
  }
  writePidfile(ctx, result.root);
  if (o.restoreDetached) return;
  const exit = waitForRoot(result.root, ctx.log);
  if (exit.code === 0) return;
  // runTool maps a CriuError to its exit code: the root's status becomes ours
  const how = exit.signal === undefined ? `exited with status ${exit.code}` : `was killed by signal ${exit.signal}`;
  throw new CriuError(`restored root task ${result.root} ${how}`, { code: 'EROOTEXIT', exitCode: exit.code });
}

function restoreFrom(ctx: RestoreContext, imagesDir: string): Promise<RestoreResult> {
  const o = ctx.options;
  checkCpu(ctx, imagesDir);
  return restoreTree({
    imagesDir,
    log: ctx.log,
    shellJob: o.shellJob,
    leaveStopped: o.leaveStopped,
    fileLocks: o.fileLocks,
    tcpEstablished: o.tcpEstablished,
    tcpClose: o.tcpClose,
    inheritFds: o.inheritFd,
    extUnixSk: o.extUnixSk !== undefined,
    fileValidation: o.fileValidation === 'filesize' ? 'filesize' : 'buildid',
    siblingChannel: o.restoreSibling ? launcherChannel(ctx.env) : undefined,
    orphanPtsMaster: orphanPtsMaster(ctx),
    autoDedup: o.autoDedup,
    lazyPages: o.lazyPages ? { workDir: ctx.workDir } : undefined,
    root: o.root,
    extMountMap: o.extMountMap,
    external: o.external,
    vethPair: o.vethPair,
    joinNs: o.joinNs,
    emptyNs: o.emptyNs === 'net' ? 'net' : undefined,
    cgroups: { mode: o.manageCgroups as CgroupMode | undefined, roots: (o.cgroupRoot ?? []).map(parseCgroupRoot), yard: o.cgroupYard === undefined ? undefined : resolve(ctx.workDir, o.cgroupYard) },
    runAction: (action, env) => runActionScript({ ...ctx, imagesDir }, action, { initPid: env.pid }),
  });
}

/** RPC orphan_pts_master: a new pty's master goes to the client as the orphan-pts-master notification, fd attached. */
function orphanPtsMaster(ctx: RestoreContext): ((master: number) => void) | undefined {
  if (!serviceOrphanPtsMaster(ctx.env)) return undefined;
  if (!serviceNotifies(ctx.env)) {
    return () => {
      throw new CriuError('orphan_pts_master: the new pty master is handed to the RPC client as a notification, and the request has no notify_scripts', {
        code: 'ENOTIFY',
      });
    };
  }
  return (master) => notifyService(ctx.env, 'orphan-pts-master', undefined, master);
}

/**
 * Refuse to resume tasks on a CPU that lacks what they may use: when the
 * dump wrote cpuinfo.img (or --cpu-cap asks for it), compare it under the
 * caps (fpu,ins unless --cpu-cap says otherwise; --cpu-cap=none skips).
 */
function checkCpu(ctx: RestoreContext, imagesDir: string): void {
  const caps = ctx.options.cpuCap;
  if (!(caps.fpu || caps.ins || caps.cpu)) return;
  if (!caps.image && !existsSync(join(imagesDir, 'cpuinfo.img'))) return;
  validateCpuinfo(imagesDir, { ...caps, image: true }, { log: ctx.log });
}

export const restoreTool: ToolSpec<typeof restoreToolOptions> = {
  name: 'criu-restore',
  summary: 'Restore a process tree from image files (or, with --stream, from one stream on stdin).',
  usage: 'criu-restore [options]',
  options: restoreToolOptions,
  run,
};
