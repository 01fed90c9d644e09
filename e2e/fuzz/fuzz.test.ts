// The short fuzz run of the normal test suite: every target (every image
// kind's reader, the pagemap/pages pair, the tar stream, the page-server
// protocol, RPC requests) with a few hundred inputs each. `npm run fuzz`
// is the long run. Set CRIU_FUZZ_SEED to replay a run.
import t from 'tap';
import { runTarget } from './engine.js';
import { allTargets } from './targets.js';

const seed = Number(process.env.CRIU_FUZZ_SEED ?? Date.now() % 0x7fffffff);
const perWeight = Number(process.env.CRIU_FUZZ_RUNS ?? 40);

t.comment(`fuzz seed ${seed} (CRIU_FUZZ_SEED=${seed} replays it)`);
for (const target of allTargets()) {
  t.test(target.name, async (t) => {
    const report = await runTarget(target, perWeight * target.weight, seed);
    t.equal(report.failure, undefined, `${report.inputs} inputs, ${report.rejected} refused with a typed error`);
    t.equal(report.inputs, perWeight * target.weight, 'every input was run');
  });
}
