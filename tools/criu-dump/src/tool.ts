// criu-dump: `criu dump` and `criu pre-dump` (criu-dump pre-dump ...).
import { UsageError } from '@criu-ts/base';
import { dumpOptions, runActionScript, type ToolContext, type ToolSpec } from '@criu-ts/cli';
import { rmSync } from 'node:fs';
import { dumpCpuinfo } from '@criu-ts/cpuinfo';
import { dumpTree, type DumpResult } from '@criu-ts/dump';

type DumpContext = ToolContext<typeof dumpOptions>;

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

async function run(ctx: DumpContext): Promise<void> {
  const o = ctx.options;
  if (o.tree === undefined) throw new UsageError('-t/--tree PID is required');
  const preDump = ctx.args.mode === 'pre-dump';
  if (preDump && o.lazyPages) throw new UsageError('cannot pre-dump with --lazy-pages');
  if (o.leaveRunning && o.leaveStopped) throw new UsageError('--leave-running and --leave-stopped cannot be used together');
  // cpuinfo.img (--cpu-cap): written first, removed again if the dump fails
  const cpuinfo = dumpCpuinfo(ctx.imagesDir, o.cpuCap, { log: ctx.log });
  const result = await dumpTree({
    pid: o.tree,
    imagesDir: ctx.imagesDir,
    leaveRunning: o.leaveRunning || preDump,
    leaveStopped: o.leaveStopped,
    timeoutSeconds: o.timeout,
    log: ctx.log,
    shellJob: o.shellJob,
    ghostLimit: o.ghostLimit,
    linkRemap: o.linkRemap,
    fileLocks: o.fileLocks,
    tcpEstablished: o.tcpEstablished,
    extUnixSk: o.extUnixSk !== undefined,
    fileValidation: o.fileValidation === 'filesize' ? 'filesize' : 'buildid',
    preDump,
    runAction: (action, env) => runActionScript(ctx, action, { initPid: env.pid }),
  }).catch((error: unknown) => {
    if (cpuinfo !== undefined) rmSync(cpuinfo, { force: true });
    throw error;
  });
  if (o.displayStats) process.stdout.write(statsText(result));
}

export const dumpTool: ToolSpec<typeof dumpOptions> = {
  name: 'criu-dump',
  summary: 'Checkpoint a process tree into image files; with pre-dump, save only memory changes since the last pre-dump.',
  usage: 'criu-dump [pre-dump] -t PID [options]',
  options: dumpOptions,
  positionals: [{ name: 'mode', describe: 'dump (the default) or pre-dump', choices: ['dump', 'pre-dump'] }],
  run,
};
