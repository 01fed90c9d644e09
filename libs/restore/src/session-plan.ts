// Sessions and process groups (credentials(7), setsid(2), setpgid(2)):
// which task calls setsid, which joins which group, and which groups have
// lost their leader (an orphaned pgid: the leader exited, members remain),
// so that a stand-in leader must be created with that pid for the members
// to join. A session is inherited through fork, so setsid happens as each
// task is created, before its children; groups are joined once every task
// exists. With --shell-job the root's session and group, which belonged to
// the shell the tree ran under, become the restoring tool's. Pure: no
// kernel calls.
import { CriuError } from '@criu-ts/base';

export interface SessionTask {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
}

export interface SessionContext {
  shellJob: boolean;
  /** the restoring tool's session and process group */
  toolSid: number;
  toolPgid: number;
}

export interface SessionPlan {
  /** tasks that call setsid() right after they are created */
  setsid: Set<number>;
  /** the pgid each task must end up in (after --shell-job mapping) */
  pgid: Map<number, number>;
  /** orphaned pgid → the member that creates its stand-in leader */
  orphans: Map<number, number>;
}

function externalSessionError(root: SessionTask): CriuError {
  return new CriuError(`pid ${root.pid}, the root task, is not a session leader: its session ${root.sid} (pstree.img) was outside the dumped tree`, {
    code: 'ESESSION',
    hint: 'restore with --shell-job (-j) to put it into the session of criu',
  });
}

/** Maps the root's external session/group onto the tool's (shell job); checks the rest. */
function mappedIds(tasks: readonly SessionTask[], ctx: SessionContext): SessionTask[] {
  const root = tasks[0]!;
  const pids = new Set(tasks.map((task) => task.pid));
  const externalSid = root.sid !== root.pid && !pids.has(root.sid) ? root.sid : undefined;
  const externalPgid = root.pgid !== root.pid && !pids.has(root.pgid) ? root.pgid : undefined;
  if (externalSid !== undefined && !ctx.shellJob) throw externalSessionError(root);
  if (!ctx.shellJob) return tasks.map((task) => ({ ...task }));
  return tasks.map((task) => ({
    ...task,
    sid: task.sid === externalSid ? ctx.toolSid : task.sid,
    pgid: task.pgid === externalPgid ? ctx.toolPgid : task.pgid,
  }));
}

/** Checks that each task's session can be had: its own (setsid) or its parent's. */
function checkSessions(tasks: readonly SessionTask[], ctx: SessionContext): Set<number> {
  const setsid = new Set<number>();
  const sidOf = new Map<number, number>();
  for (const [i, task] of tasks.entries()) {
    const inherited = i === 0 ? ctx.toolSid : sidOf.get(task.ppid)!;
    if (task.sid === task.pid) setsid.add(task.pid);
    else if (task.sid !== inherited) {
      throw new CriuError(
        `pid ${task.pid} is in session ${task.sid}, but its parent ${task.ppid} is in session ${inherited}; a session whose leader is gone cannot be restored yet`,
        { code: 'ESESSION' },
      );
    }
    sidOf.set(task.pid, task.sid);
  }
  return setsid;
}

/** Plans setsid/setpgid for a tree listed parents first (root first). */
export function planSessions(tasks: readonly SessionTask[], ctx: SessionContext): SessionPlan {
  if (tasks.length === 0) throw new CriuError('no tasks to restore', { code: 'EINVAL' });
  const mapped = mappedIds(tasks, ctx);
  const setsid = checkSessions(mapped, ctx);
  const pids = new Set(mapped.map((task) => task.pid));
  const pgid = new Map<number, number>();
  const orphans = new Map<number, number>();
  for (const task of mapped) {
    if (setsid.has(task.pid) && task.pgid !== task.pid) {
      throw new CriuError(`pid ${task.pid} leads session ${task.sid} but is in group ${task.pgid}: a session leader cannot change group`, { code: 'ESESSION' });
    }
    pgid.set(task.pid, task.pgid);
    if (!pids.has(task.pgid) && task.pgid !== ctx.toolPgid && !orphans.has(task.pgid)) orphans.set(task.pgid, task.pid);
  }
  return { setsid, pgid, orphans };
}
