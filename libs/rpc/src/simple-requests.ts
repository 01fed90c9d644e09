// Requests answered without a dump or restore: VERSION (the criu(8)
// version we implement, as -V prints it), FEATURE_CHECK (each asked-for
// feature answered truthfully for this criu on this kernel), WAIT_PID (the
// end of a page server this session started with PAGE_SERVER_CHLD).
import { CRIU_VERSION, VERSION } from '@criu-ts/cli';
import { RpcError, type CriuFeatures } from './messages.js';
import type { Handler } from './session-context.js';
import { removeScratch, runToolChild, scratchDir } from './tool-run.js';

const ECHILD = 10;

export const handleVersion: Handler = async (_ctx, req) => {
  const [major = 0, minor = 0, sublevel] = CRIU_VERSION.split('.').map(Number);
  return {
    type: req.type,
    success: true,
    version: { major_number: major, minor_number: minor, ...(sublevel === undefined ? {} : { sublevel }), gitid: `criu-ts-${VERSION}`, name: 'criu-ts' },
  };
};

/**
 * What each feature needs here: mem_track the kernel's dirty-memory tracking
 * (criu check's mem_dirty_track probe); lazy_pages userfaultfd with its
 * non-cooperative events (criu check's lazy_pages probe, as upstream
 * answers it); pidfd_store the pidfd_store_sk option, which criu-ts does
 * not take.
 */
const FEATURE_PROBES: Readonly<Record<keyof CriuFeatures, string | undefined>> = {
  mem_track: 'mem_dirty_track',
  lazy_pages: 'lazy_pages',
  pidfd_store: undefined,
};

async function probe(feature: string, log: Parameters<Handler>[0]['log']): Promise<boolean> {
  const scratch = scratchDir();
  try {
    const outcome = await runToolChild({ tool: 'criu-check', args: ['--feature', feature], log, scratch });
    return outcome.code === 0;
  } finally {
    removeScratch(scratch);
  }
}

export const handleFeatureCheck: Handler = async (ctx, req) => {
  const asked = req.features ?? {};
  const features: CriuFeatures = { mem_track: false, lazy_pages: false, pidfd_store: false };
  for (const name of Object.keys(FEATURE_PROBES) as (keyof CriuFeatures)[]) {
    const check = FEATURE_PROBES[name];
    if (asked[name] === true && check !== undefined) features[name] = await probe(check, ctx.log);
  }
  return { type: req.type, success: true, features };
};

export const handleWaitPid: Handler = async (ctx, req) => {
  const pid = req.pid ?? 0;
  const ended = ctx.children.get(pid);
  if (ended === undefined) throw new RpcError(`WAIT_PID ${pid}: not a child of this criu`, { errno: ECHILD });
  const status = await ended;
  ctx.children.delete(pid);
  return { type: req.type, success: true, status };
};
