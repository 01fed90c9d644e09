// Every per-task kind, in the order the dump runs them. Kinds that hand ids
// to others come first; core, which writes core-PID.img with them, last.
import type { TaskKind } from './kind.js';

export const taskKinds: readonly TaskKind[] = [
];
