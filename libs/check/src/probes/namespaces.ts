// Namespaces a dump may take along (libs/kinds/src/ns): the kernel's side
// of each, as upstream's kerndat asks it.
import { existsSync } from 'node:fs';
import { missing, type Feature } from '../feature.js';

/** Time namespaces with settable offsets (time_namespaces(7), Linux 5.6). */
export const timens: Feature = {
  name: 'timens',
  category: 2,
  neededFor: 'a tree with a time namespace of its own (timens-ID.img: its clocks go on after the restore)',
  probe: () =>
    existsSync('/proc/self/ns/time') && existsSync('/proc/self/timens_offsets') ? 'ok' : missing('no time namespaces (/proc/self/ns/time, /proc/self/timens_offsets)'),
};
