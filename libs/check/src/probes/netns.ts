// Features of a tree's own network namespace (libs/kinds ns/net-ns.ts):
// nftables: its rules are saved with `nft list ruleset` and restored with
//   `nft -f`, so the nft tool must run (upstream answers whether it was
//   built with libnftables);
// external_net_ns: --external net[INODE]:KEY on dump and the namespace given
//   back with --inherit-fd fd[N]:KEY on restore (upstream's is not a real
//   check either: it says the version has the option).
import { spawnSync } from 'node:child_process';
import { missing, type Feature, type ProbeResult } from '../feature.js';

function probeNft(): ProbeResult {
  const run = spawnSync('nft', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (run.error !== undefined) return missing(`cannot run nft: ${run.error.message}`);
  return run.status === 0 ? 'ok' : missing(`nft --version exited with ${run.status}`);
}

export const nftables: Feature = {
  name: 'nftables',
  category: 2,
  neededFor: "saving and restoring a network namespace's nftables rules",
  probe: probeNft,
};

export const externalNetNs: Feature = {
  name: 'external_net_ns',
  category: 2,
  neededFor: 'external network namespaces (--external net[INODE]:KEY, --inherit-fd)',
  probe: () => 'ok',
};
