// npm run zdtm -- [TEST...] [--flavor h] [--parallel N] [--criu PATH] [--zdtm DIR] [--report DIR] [-- ZDTM-ARGS]
//
// Runs upstream CRIU's zdtm suite (built by ../shared/tools/upstream-criu.sh
// in /opt/criu-upstream/test, or $ZDTM_DIR) against our criu, with zdtm's
// checks strict (no ZDTM_LAX_STATS), then compares the verdicts with the
// lists beside this file: upstream-pass-h.txt (what upstream 4.2 passes on
// this kind of machine; the default set of tests) and other-issues.txt (tests
// that are another issue's work: established TCP, cgroups). Arguments after
// `--` go to zdtm.py as they are (e.g. `-- --pre 2`, `-- --lazy-pages`).
// Exit status 0 when every test run passed or was skipped by zdtm itself and
// none of the in-scope tests was missed; 1 otherwise; 2 on a usage error or
// when zdtm is not installed.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { workspaceRoot } from '../lib/workspace.js';
import { parseTapReport, readList, summarize, type Summary } from './report.js';

/** zdtm runs tests as root with Debian's python3 and tools, as the upstream build script says */
const ZDTM_PATH = '/usr/bin:/usr/sbin:/bin:/sbin';

function usage(message: string): never {
  process.stderr.write(`zdtm: ${message}\nusage: npm run zdtm -- [TEST...] [--flavor h] [--parallel N] [--criu PATH] [--zdtm DIR] [--report DIR] [-- ZDTM-ARGS]\n`);
  process.exit(2);
}

function options() {
  const dash = process.argv.indexOf('--', 2);
  const own = dash < 0 ? process.argv.slice(2) : process.argv.slice(2, dash);
  const { values, positionals } = parseArgs({
    args: own,
    allowPositionals: true,
    options: {
      flavor: { type: 'string', default: 'h' },
      parallel: { type: 'string', default: '2' },
      criu: { type: 'string', default: join(workspaceRoot, 'tools', 'criu', 'bin', 'criu') },
      zdtm: { type: 'string', default: process.env['ZDTM_DIR'] ?? '/opt/criu-upstream/test' },
      report: { type: 'string' },
    },
  });
  if (!/^[1-9]\d*$/.test(values.parallel)) usage(`--parallel takes a positive number, not '${values.parallel}'`);
  return { ...values, tests: positionals.map((t) => t.replace(/^zdtm\//, '').replace(/^(?!static\/|transition\/)/, 'static/')), extra: dash < 0 ? [] : process.argv.slice(dash + 1) };
}

/** Runs zdtm.py; its full output goes to DIR/zdtm.log via the report, progress lines to our stdout. */
async function runZdtm(dir: string, args: string[]): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: ZDTM_PATH };
  delete env['ZDTM_LAX_STATS']; // strict: zdtm's stats and page-count checks as upstream runs them
  const child = spawn('./zdtm.py', args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const progress = (line: string): void => {
    if (/^=+ (Run|Test) /.test(line) || /^(Skipping|FAIL|PASS)/.test(line)) process.stdout.write(`${line}\n`);
  };
  createInterface({ input: child.stdout }).on('line', progress);
  createInterface({ input: child.stderr }).on('line', (line) => process.stderr.write(`${line}\n`));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal === null ? 1 : 128))));
}

function print(summary: Summary, flavor: string, reportDir: string): void {
  const lines = [
    '',
    `zdtm flavor ${flavor}: ${summary.passed.length + summary.failed.length + summary.skipped.length} test(s)`,
    `passed ${summary.passed.length}, failed ${summary.failed.length}, skipped ${summary.skipped.length}`,
    `in scope (upstream passes here, not another issue's): ${summary.inScope}, of which not passed: ${summary.inScopeMissing.length}`,
  ];
  if (summary.failed.length > 0) lines.push(`failed: ${summary.failed.join(' ')}`);
  for (const { test, reason } of summary.skipped) lines.push(`skipped: ${test} (${reason})`);
  lines.push(`report and logs: ${reportDir}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const opts = options();
  if (!existsSync(join(opts.zdtm, 'zdtm.py'))) {
    usage(`no zdtm.py in ${opts.zdtm}: build upstream's suite with ../shared/tools/upstream-criu.sh, or set ZDTM_DIR`);
  }
  if (!existsSync(opts.criu)) usage(`no criu at ${opts.criu}: run npm run setup first`);
  const upstream = readList(`upstream-pass-${opts.flavor}.txt`);
  const others = readList('other-issues.txt');
  const tests = opts.tests.length > 0 ? opts.tests : [...upstream.keys()];
  const reportDir = opts.report ?? mkdtempSync(join(tmpdir(), 'criu-ts-zdtm-'));
  const args = ['run', '-f', opts.flavor, '--ignore-taint', '--keep-going', '-p', opts.parallel, '--report', reportDir, '--criu-bin', opts.criu];
  for (const test of tests) args.push('-t', `zdtm/${test}`);
  await runZdtm(opts.zdtm, [...args, ...opts.extra]);
  const tap = readdirSync(reportDir).filter((f) => /^criu-testreport.*\.tap$/.test(f)).sort();
  if (tap.length === 0) usage(`zdtm wrote no report in ${reportDir} (see its output above)`);
  const verdicts = parseTapReport(readFileSync(join(reportDir, tap.at(-1)!), 'utf8'));
  const summary = summarize(verdicts, new Set(upstream.keys()), others);
  print(summary, opts.flavor, reportDir);
  process.exitCode = summary.failed.length > 0 || summary.inScopeMissing.length > 0 ? 1 : 0;
}

await main();
