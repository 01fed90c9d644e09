// The cgroup options of criu(8) that dump and restore act on.

/** --manage-cgroups: what restore does with the image's cgroups (dump: ignore skips the trees). */
export type CgroupMode = 'ignore' | 'none' | 'props' | 'soft' | 'full' | 'strict';

/** --cgroup-root [CONTROLLER:]/PATH: controller undefined means every controller. */
export interface CgroupRoot {
  controller?: string;
  path: string;
}

export interface CgroupDumpOptions {
  /** default soft: trees are walked; ignore: only the sets are saved */
  mode?: CgroupMode;
  /** --cgroup-root on dump: walk from here instead of the task's cgroup */
  roots?: readonly CgroupRoot[];
  /** --cgroup-props */
  props?: string;
  /** --cgroup-props-file */
  propsFile?: string;
  /** --cgroup-dump-controller (repeatable): only these hierarchies */
  dumpControllers?: readonly string[];
  /** --cgroup-yard DIR: walk the hierarchies mounted there instead of mounting them */
  yard?: string;
  /** --freeze-cgroup: the freezer's state before the dump froze it ('THAWED' or 'FROZEN'), saved as freezer.state */
  freezerState?: 'THAWED' | 'FROZEN';
}

export interface CgroupRestoreOptions {
  /** default soft */
  mode?: CgroupMode;
  roots?: readonly CgroupRoot[];
  /** --cgroup-yard DIR */
  yard?: string;
}

/** Parses --cgroup-root's value. */
export function parseCgroupRoot(value: string): CgroupRoot {
  const colon = value.indexOf(':');
  if (colon < 0 || value.startsWith('/')) return { path: value };
  return { controller: value.slice(0, colon), path: value.slice(colon + 1) };
}

/** The root --cgroup-root gives a member line `name` (a per-controller one wins over the global one). */
export function rootFor(roots: readonly CgroupRoot[] | undefined, name: string): string | undefined {
  const own = roots?.find((root) => root.controller !== undefined && root.controller === name);
  return own?.path ?? roots?.find((root) => root.controller === undefined)?.path;
}
