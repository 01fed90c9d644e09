// Which properties of a cgroup a dump saves: per controller, upstream CRIU
// 4.2's built-in lists (its cgroup-props.c) plus, for cgroup v2, the
// limits of the controllers a v2 cgroup has enabled (upstream saves only
// the v2 globals; its restore writes back whatever an image lists, so
// images with them stay compatible). --cgroup-props / --cgroup-props-file
// add or replace lists in criu(8)'s simplified YAML:
//   "cpu":
//    - "strategy": "replace"
//    - "properties": ["cpu.shares", "cpu.cfs_period_us"]
import { readFileSync } from 'node:fs';
import { UsageError } from '@criu-ts/base';

export type PropTable = ReadonlyMap<string, readonly string[]>;

const BUILTIN: Record<string, readonly string[]> = {
  cpu: ['cpu.shares', 'cpu.cfs_period_us', 'cpu.cfs_quota_us', 'cpu.rt_period_us', 'cpu.rt_runtime_us'],
  // limit_in_bytes before memsw.limit_in_bytes: the kernel wants them in this order
  memory: [
    'memory.limit_in_bytes', 'memory.memsw.limit_in_bytes', 'memory.swappiness', 'memory.soft_limit_in_bytes',
    'memory.move_charge_at_immigrate', 'memory.oom_control', 'memory.use_hierarchy', 'memory.kmem.limit_in_bytes',
    'memory.kmem.tcp.limit_in_bytes',
  ],
  cpuset: [
    'cpuset.cpus', 'cpuset.mems', 'cpuset.memory_migrate', 'cpuset.cpu_exclusive', 'cpuset.mem_exclusive',
    'cpuset.mem_hardwall', 'cpuset.memory_spread_page', 'cpuset.memory_spread_slab', 'cpuset.sched_load_balance',
    'cpuset.sched_relax_domain_level',
  ],
  blkio: ['blkio.weight'],
  freezer: [],
  perf_event: [],
  net_cls: ['net_cls.classid'],
  net_prio: ['net_prio.ifpriomap'],
  pids: ['pids.max'],
  devices: ['devices.list'],
};

/** Every v1 hierarchy's own files (cgroup.procs and tasks: their permissions only). */
export const GLOBAL_V1_PROPS: readonly string[] = ['cgroup.clone_children', 'notify_on_release', 'cgroup.procs', 'tasks'];

/** Every v2 cgroup's own files, as upstream saves them. */
export const GLOBAL_V2_PROPS: readonly string[] = ['cgroup.subtree_control', 'cgroup.max.descendants', 'cgroup.max.depth', 'cgroup.freeze', 'cgroup.type'];

/** v2 controllers' limits (present only where the parent enables the controller). */
export const V2_CONTROLLER_PROPS: readonly string[] = [
  'cpuset.cpus', 'cpuset.mems', 'cpu.max', 'cpu.weight', 'cpu.weight.nice', 'io.weight', 'io.max',
  'memory.min', 'memory.low', 'memory.high', 'memory.max', 'memory.swap.max', 'memory.swap.high', 'memory.oom.group',
  'pids.max', 'hugetlb.2MB.max', 'hugetlb.1GB.max',
];

/**
 * Properties that must be written as the cgroup is made, before any task
 * or child is in it (upstream's special_props).
 */
export const SPECIAL_PROPS: ReadonlySet<string> = new Set([
  'cpuset.cpus', 'cpuset.mems', 'devices.list', 'memory.kmem.limit_in_bytes', 'memory.swappiness', 'memory.oom_control',
  'memory.use_hierarchy', 'cgroup.type',
]);

type Token = { kind: 'string'; text: string } | { kind: 'symbol'; text: string };

function tokens(spec: string, what: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < spec.length; ) {
    const c = spec[i]!;
    if (/\s/.test(c)) i++;
    else if (c === '"') {
      const end = spec.indexOf('"', i + 1);
      if (end < 0) throw new UsageError(`${what}: unterminated quote at offset ${i}`);
      out.push({ kind: 'string', text: spec.slice(i + 1, end) });
      i = end + 1;
    } else if (':-[],'.includes(c)) {
      out.push({ kind: 'symbol', text: c });
      i++;
    } else throw new UsageError(`${what}: unexpected '${c}' at offset ${i}`);
  }
  return out;
}

/** Parses a --cgroup-props spec into the table it makes of `base`. */
export function applyPropsSpec(base: PropTable, spec: string, what = '--cgroup-props'): Map<string, readonly string[]> {
  const table = new Map(base);
  const list = tokens(spec, what);
  let at = 0;
  const expect = (kind: Token['kind'], text?: string): string => {
    const token = list[at++];
    if (token === undefined || token.kind !== kind || (text !== undefined && token.text !== text)) {
      throw new UsageError(`${what}: expected ${text === undefined ? 'a quoted name' : `'${text}'`} (token ${at})`);
    }
    return token.text;
  };
  while (at < list.length) {
    const controller = expect('string');
    expect('symbol', ':');
    expect('symbol', '-');
    expect('string', 'strategy');
    expect('symbol', ':');
    const strategy = expect('string');
    if (strategy !== 'merge' && strategy !== 'replace') throw new UsageError(`${what}: unknown strategy "${strategy}" for controller ${controller}`);
    expect('symbol', '-');
    expect('string', 'properties');
    expect('symbol', ':');
    expect('symbol', '[');
    const props: string[] = [];
    while (list[at]?.kind === 'string') {
      props.push(expect('string'));
      if (list[at]?.text === ',') at++;
    }
    expect('symbol', ']');
    table.set(controller, strategy === 'merge' ? [...(table.get(controller) ?? []), ...props] : props);
  }
  return table;
}

/** The dump's property table: the built-ins, then --cgroup-props, then --cgroup-props-file. */
export function propTable(spec?: string, file?: string): PropTable {
  let table = new Map(Object.entries(BUILTIN));
  if (spec !== undefined && spec !== '') table = applyPropsSpec(table, spec);
  if (file !== undefined) table = applyPropsSpec(table, readFileSync(file, 'utf8'), `--cgroup-props-file ${file}`);
  return table;
}
