// criu-dump: `criu dump` and `criu pre-dump` (criu-dump pre-dump ...).
// --stream: the checkpoint goes out as one tar stream, pages during the dump (stream-output.ts);
// --page-server: page data goes to `criu page-server` at --address/--port.
import { CriuError, UsageError, watchInterrupts } from '@criu-ts/base';
import { runActionScript, serviceOrphanPtsMaster, type ToolContext, type ToolSpec } from '@criu-ts/cli';
import { closeSync, rmSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { dumpCpuinfo } from '@criu-ts/cpuinfo';
import { dumpTree, parseCgroupRoot, type CgroupMode, type DumpResult } from '@criu-ts/dump';
import { frozenTaskLazyPages, loadTlsMaterial, runPageServer, type ConnectOptions } from '@criu-ts/page-server';
import { dumpToolOptions } from './dump-tool-options.js';
import { openStreamOutput, type StreamOutput } from './stream-output.js';

type DumpContext = ToolContext<typeof dumpToolOptions>;

function statsText(result: DumpResult): string {
  const s = result.stats;
  const pages = (n: number): string => `${n} (0x${n.toString(16)})`;
  return [
    'Displaying dump stats:',
    `Freezing time: ${result.freezingUs} us`,
    `Frozen time: ${result.frozenUs} us`,
    `Memory dump time: ${s.memdumpTime} us`,
    `Memory write time: ${s.memwriteTime} us`,
    `Memory pages scanned: ${pages(s.pagesScanned)}`,
    `Memory pages skipped from parent: ${pages(s.pagesSkippedParent)}`,
    `Memory pages written: ${pages(s.pagesWritten)}`,
    `Lazy memory pages: ${pages(s.pagesLazy)}`,
    '',
  ].join('\n');
}

function checkOptions(ctx: DumpContext, preDump: boolean): void {
  const o = ctx.options;
  if (o.tree === undefined) throw new UsageError('-t/--tree PID is required');
  if (preDump && o.lazyPages) throw new UsageError('cannot pre-dump with --lazy-pages');
  if (o.leaveRunning && o.leaveStopped) throw new UsageError('--leave-running and --leave-stopped cannot be used together');
  if (!o.stream && (o.streamFile !== undefined || o.streamFd !== undefined)) throw new UsageError('--stream-file and --stream-fd go with --stream');
  if (o.stream && preDump) throw new UsageError('pre-dump cannot write a stream');
  if (!o.pageServer && o.tls) throw new UsageError('--tls secures the --page-server connection; give --page-server too');
  if (o.stream && o.prevImagesDir !== undefined) throw new UsageError('--stream cannot have a parent (--prev-images-dir): a stream holds one whole checkpoint');
  if (o.lazyPages && (o.stream || o.pageServer)) throw new UsageError('dump --lazy-pages serves the lazy pages itself: it goes with neither --stream nor --page-server');
  if (o.lazyPages && o.port === undefined) throw new UsageError('dump --lazy-pages needs --port (and --address) to serve the lazy pages on');
  if (o.lazyPages && o.tls) throw new CriuError('dump --lazy-pages with --tls is not supported yet', { code: 'EUNSUPPORTED' });
}

/**
 * dump --lazy-pages: once the images are synced, a page server on
 * --address/--port answers the lazy-pages daemon's PS_IOV_GET from the
 * frozen tree until the daemon has them all and hangs up.
 */
function lazyPagesServer(ctx: DumpContext): ((dir: string) => Promise<void>) | undefined {
  const o = ctx.options;
  if (!o.lazyPages) return undefined;
  return async (dir) => {
    await runPageServer({
      dir,
      log: ctx.log,
      address: o.address,
      port: o.port,
      lazy: frozenTaskLazyPages(dir),
      onReady: (port) => {
        ctx.log.info(`dump --lazy-pages: serving the lazy pages on ${o.address ?? '*'}:${port}`);
        if (o.statusFd === undefined) return;
        try {
          writeSync(o.statusFd, Buffer.from([0]));
        } finally {
          closeSync(o.statusFd);
        }
      },
    });
  };
}

/** --page-server: where to connect, with TLS material read now (before anything is frozen). */
function pageServerTarget(ctx: DumpContext): ConnectOptions | undefined {
  const o = ctx.options;
  if (!o.pageServer) return undefined;
  if (o.address === undefined || o.port === undefined) throw new UsageError('--page-server needs --address and --port');
  const tls = o.tls ? loadTlsMaterial({ cacert: o.tlsCacert, cacrl: o.tlsCacrl, cert: o.tlsCert, key: o.tlsKey, noCnVerify: o.tlsNoCnVerify }) : undefined;
  return { address: o.address, port: o.port, tls };
}

async function dumpInto(ctx: DumpContext, imagesDir: string, stream: StreamOutput | undefined): Promise<DumpResult> {
  const o = ctx.options;
  const preDump = ctx.args.mode === 'pre-dump';
  const pageServer = pageServerTarget(ctx);
  // cpuinfo.img (--cpu-cap): written first, removed again if the dump fails
  const cpuinfo = dumpCpuinfo(imagesDir, o.cpuCap, { log: ctx.log });
  return dumpTree({
    pid: o.tree!,
    imagesDir,
    leaveRunning: o.leaveRunning || preDump,
    leaveStopped: o.leaveStopped,
    timeoutSeconds: o.timeout,
    log: ctx.log,
    shellJob: o.shellJob,
    orphanPtsMaster: serviceOrphanPtsMaster(ctx.env),
    ghostLimit: o.ghostLimit,
    linkRemap: o.linkRemap,
    fileLocks: o.fileLocks,
    tcpEstablished: o.tcpEstablished,
    tcpClose: o.tcpClose,
    skipInFlight: o.skipInFlight,
    networkLock: o.networkLock,
    external: o.external,
    extUnixSk: o.extUnixSk !== undefined,
    fileValidation: o.fileValidation === 'filesize' ? 'filesize' : 'buildid',
    preDump,
    trackMem: o.trackMem || preDump,
    prevImagesDir: o.prevImagesDir,
    preDumpMode: o.preDumpMode === 'read' ? 'read' : 'splice',
    autoDedup: o.autoDedup,
    extMountMap: o.extMountMap,
    enableFs: o.enableFs,
    skipMnt: o.skipMnt,
    enableExternalSharing: o.enableExternalSharing,
    enableExternalMasters: o.enableExternalMasters,
    pageServer,
    lazyPages: o.lazyPages,
    serveLazyPages: lazyPagesServer(ctx),
    freezeCgroup: o.freezeCgroup,
    cgroups: {
      mode: o.manageCgroups as CgroupMode | undefined,
      roots: (o.cgroupRoot ?? []).map(parseCgroupRoot),
      props: o.cgroupProps,
      propsFile: o.cgroupPropsFile,
      dumpControllers: o.cgroupDumpController,
      yard: o.cgroupYard === undefined ? undefined : resolve(ctx.workDir, o.cgroupYard),
    },
    afterImages: stream === undefined ? undefined : (dir) => stream.write(dir, o.leaveRunning || preDump),
    pageStream: stream?.writer,
    runAction: (action, env) => runActionScript(ctx, action, { initPid: env.pid }),
  }).catch((error: unknown) => {
    if (cpuinfo !== undefined) rmSync(cpuinfo, { force: true });
    throw error;
  });
}

async function run(ctx: DumpContext): Promise<void> {
  const o = ctx.options;
  checkOptions(ctx, ctx.args.mode === 'pre-dump');
  const stream = o.stream ? openStreamOutput({ file: o.streamFile, fd: o.streamFd }, ctx.log) : undefined;
  let result: DumpResult;
  // SIGINT/SIGTERM fail the dump at its next stage: the tree runs on
  const interrupts = watchInterrupts();
  try {
    result = await dumpInto(ctx, stream?.imagesDir ?? ctx.imagesDir, stream);
  } catch (error) {
    stream?.close(true);
    if (stream !== undefined && error instanceof CriuError && error.code === 'EPIPE') {
      throw new CriuError(`the stream's reader went away before the checkpoint was written out; the tree runs on`, { code: 'EPIPE', cause: error });
    }
    throw error;
  } finally {
    interrupts.dispose();
  }
  stream?.close(false);
  // stdout may carry the stream: then the stats go to stderr
  if (o.displayStats) writeSync(stream?.fd === 1 ? 2 : 1, statsText(result));
}

export const dumpTool: ToolSpec<typeof dumpToolOptions> = {
  name: 'criu-dump',
  summary: 'Checkpoint a process tree into image files (or, with --stream, one stream on stdout); with pre-dump, save only memory changes since the last pre-dump.',
  usage: 'criu-dump [pre-dump] -t PID [options]',
  options: dumpToolOptions,
  positionals: [{ name: 'mode', describe: 'dump (the default) or pre-dump', choices: ['dump', 'pre-dump'] }],
  run,
};
