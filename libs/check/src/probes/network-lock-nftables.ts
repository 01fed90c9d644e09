// network_lock_nftables: whether `--network-lock nftables` can work: the
// nft tool, and nftables sets with concatenated keys (Linux 5.6+ for the
// inet_service ranges upstream's check needs). Tested as upstream does, in
// a network namespace of its own (`unshare -n`) so that nothing is left
// behind and two checks cannot collide.
import { spawnSync } from 'node:child_process';
import { missing, type Feature, type ProbeResult } from '../feature.js';

const SCRIPT = 'create table inet CRIU\nadd set inet CRIU conn { type ipv4_addr . inet_service ;}\n';

function probeNftablesConcat(): ProbeResult {
  const run = spawnSync('unshare', ['--net', 'nft', '-f', '-'], { input: SCRIPT, encoding: 'utf8', timeout: 10_000 });
  if (run.error !== undefined) return missing(`cannot run unshare/nft: ${run.error.message}`);
  if (run.status !== 0) return missing(`nft cannot make a set of concatenated keys: ${`${run.stderr}`.trim().replace(/^Error: /gm, '')}`);
  return 'ok';
}

export const networkLockNftables: Feature = {
  name: 'network_lock_nftables',
  category: 2,
  neededFor: 'locking the network with nftables (--network-lock nftables)',
  probe: probeNftablesConcat,
};
