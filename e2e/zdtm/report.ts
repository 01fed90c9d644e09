// Reading zdtm's TAP report (criu-testreport.tap, written by `zdtm.py run
// --report DIR --keep-going`) and comparing it with the lists kept beside
// this file: which tests upstream CRIU passes on this kind of machine, and
// which of them are another issue's work. No I/O here but reading the lists.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Verdict = { test: string; result: 'pass' | 'fail' } | { test: string; result: 'skip'; reason: string };

/** `ok 3 - zdtm/static/env00`, `not ok 4 - zdtm/static/x # flavor h`, `ok 5 - zdtm/static/y # SKIP no tun feature` */
const TAP_LINE = /^(ok|not ok) \d+ - (\S+)(?:\s+#\s*(?:SKIP\s*(.*)|.*))?$/;

export function parseTapReport(text: string): Verdict[] {
  const verdicts: Verdict[] = [];
  for (const line of text.split('\n')) {
    const m = TAP_LINE.exec(line.trim());
    if (m === null) continue;
    const test = m[2]!.replace(/^zdtm\//, '');
    if (m[3] !== undefined) verdicts.push({ test, result: 'skip', reason: m[3].trim() });
    else verdicts.push({ test, result: m[1] === 'ok' ? 'pass' : 'fail' });
  }
  return verdicts;
}

const listsDir = dirname(fileURLToPath(import.meta.url));

/** A list file: one test (static/NAME) a line, `#` comments; a `# reason:` line names the reason for the lines after it. */
export function readList(name: string, dir = listsDir): Map<string, string> {
  const entries = new Map<string, string>();
  let reason = '';
  for (const raw of readFileSync(join(dir, name), 'utf8').split('\n')) {
    const line = raw.trim();
    const said = /^#\s*reason:\s*(.*)$/.exec(line);
    if (said !== null) reason = said[1]!;
    if (line === '' || line.startsWith('#')) continue;
    entries.set(line, reason);
  }
  return entries;
}

export interface Summary {
  passed: string[];
  failed: string[];
  skipped: { test: string; reason: string }[];
  /** tests upstream passes here that this run did not pass, outside the other issues' lists */
  inScopeMissing: string[];
  /** tests upstream passes here, less the other issues' */
  inScope: number;
}

export function summarize(verdicts: readonly Verdict[], upstreamPasses: ReadonlySet<string>, otherIssues: ReadonlyMap<string, string>): Summary {
  const passed = verdicts.filter((v) => v.result === 'pass').map((v) => v.test);
  const failed = verdicts.filter((v) => v.result === 'fail').map((v) => v.test);
  const skipped = verdicts.flatMap((v) => (v.result === 'skip' ? [{ test: v.test, reason: v.reason }] : []));
  const ran = new Set(verdicts.map((v) => v.test));
  const ok = new Set(passed);
  const scope = [...upstreamPasses].filter((t) => !otherIssues.has(t) && ran.has(t));
  return { passed, failed, skipped, inScope: scope.length, inScopeMissing: scope.filter((t) => !ok.has(t)) };
}
