// criu-cpuinfo: `criu cpuinfo dump` writes this CPU's features to
// cpuinfo.img in -D; `criu cpuinfo check` compares the image with this CPU
// and fails (exit 1), naming every difference, when the image's tasks
// could not run here under --cpu-cap.
import type { ToolSpec } from '@criu-ts/cli';
import { compareCpuinfo, cpuMismatchError, formatCpuCaps, capsForCpuinfoCheck, readCpuFeatures, writeCpuinfoImage } from '@criu-ts/cpuinfo';
import { cpuinfoOptions } from './cpuinfo-options.js';

export const cpuinfoTool: ToolSpec<typeof cpuinfoOptions> = {
  name: 'criu-cpuinfo',
  summary: "Write this CPU's features to the cpuinfo image (dump), or check them against the image (check).",
  usage: 'criu-cpuinfo dump|check [-D DIR] [--cpu-cap CAPS] [options]',
  options: cpuinfoOptions,
  positionals: [{ name: 'action', describe: 'dump or check', choices: ['dump', 'check'], required: true }],
  run: (ctx) => {
    const current = readCpuFeatures();
    if (ctx.args.action === 'dump') {
      ctx.log.info(`cpuinfo: wrote ${writeCpuinfoImage(ctx.imagesDir, current)}`);
      return;
    }
    const caps = capsForCpuinfoCheck(ctx.options.cpuCap);
    const check = compareCpuinfo(ctx.imagesDir, caps, { current });
    if (!check.ok) throw cpuMismatchError(check, caps);
    ctx.log.info(`cpuinfo: this CPU can run tasks dumped on the image's CPU (${formatCpuCaps(caps)})`);
  },
};
