// `npm run fuzz [-- --total N] [--seed S] [--only PREFIX]`: the long fuzz run
// (1,000,000 inputs by default) over every reader of untrusted bytes; prints
// each target's inputs, time and findings, then the totals and the peak RSS.
// Exits 1 on any finding.
import { parseArgs } from 'node:util';
import { runFuzz, type TargetReport } from './engine.js';
import { allTargets } from './targets.js';

const { values } = parseArgs({
  options: { total: { type: 'string', default: '1000000' }, seed: { type: 'string' }, only: { type: 'string' } },
});
const total = Number(values.total);
const seed = values.seed === undefined ? Date.now() % 0x7fffffff : Number(values.seed);
const targets = allTargets().filter((target) => values.only === undefined || target.name.startsWith(values.only));
process.stdout.write(`fuzz: ${targets.length} targets, ${total} inputs, seed ${seed}\n`);

function line(report: TargetReport): void {
  const rate = report.inputs / (report.ms / 1000);
  process.stdout.write(`${report.failure === undefined ? 'ok  ' : 'FAIL'} ${report.name.padEnd(26)} ${String(report.inputs).padStart(8)} inputs ${String(report.rejected).padStart(8)} refused ${(report.ms / 1000).toFixed(1).padStart(7)} s ${rate.toFixed(0).padStart(7)}/s\n`);
  if (report.failure !== undefined) process.stdout.write(`${report.failure}\n`);
}

const started = Date.now();
const reports = await runFuzz(targets, { total, seed, onTarget: line });
const inputs = reports.reduce((sum, report) => sum + report.inputs, 0);
const failed = reports.filter((report) => report.failure !== undefined);
const rssMiB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(`fuzz: ${inputs} inputs in ${((Date.now() - started) / 1000).toFixed(1)} s, ${failed.length} target(s) with findings, peak RSS ${rssMiB.toFixed(0)} MiB\n`);
process.exitCode = failed.length === 0 ? 0 : 1;
