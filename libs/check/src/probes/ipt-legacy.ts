// has_ipt_legacy: an iptables-save (and ip6tables-save) that drives the
// legacy iptables API rather than nf_tables — the plain one if `-V` does
// not say nf_tables, else iptables-legacy-save — as upstream looks for it
// to save and restore a network namespace's rules.
import { spawnSync } from 'node:child_process';
import { missing, type Feature, type ProbeResult } from '../feature.js';

function isLegacy(bin: string): boolean {
  const run = spawnSync(bin, ['-V'], { encoding: 'utf8', timeout: 10_000 });
  return run.error === undefined && run.status === 0 && !`${run.stdout}`.includes('nf_tables');
}

function legacyBin(family: 'iptables' | 'ip6tables'): string | undefined {
  return [`${family}-save`, `${family}-legacy-save`].find(isLegacy);
}

function probeIptLegacy(): ProbeResult {
  for (const family of ['iptables', 'ip6tables'] as const) {
    if (legacyBin(family) === undefined) return missing(`no ${family}-save that uses the legacy iptables API`);
  }
  return 'ok';
}

export const hasIptLegacy: Feature = {
  name: 'has_ipt_legacy',
  category: 2,
  neededFor: "saving and restoring a network namespace's iptables rules (legacy API)",
  probe: probeIptLegacy,
};
