// Options of `criu restore` (criu(8) "restore"). Here rather than in
// tools/criu-restore because the RPC service and the restore engine
// consume them too.
import { cpuCapOption } from './cpu-cap.js';
import { choice, flag, int, list, text, type OptionValues } from './option-spec.js';
import { dumpRestoreOptions, externalOption, streamOption } from './shared-options.js';

export const restoreOptions = {
  'restore-detached': flag('detach criu itself once restore is complete', { short: 'd' }),
  'restore-sibling': flag('restore the root task as a sibling (with --restore-detached)', { short: 'S' }),
  'leave-stopped': flag('leave tasks stopped after restore instead of resuming them', { short: 's' }),
  tree: int('obsolete with restore: the root pid is read from the images', { short: 't', argName: 'PID', min: 1 }),
  'inherit-fd': list('use the already open fd N for the resource: fd[N]:RESOURCE', {
    argName: 'fd[N]:RESOURCE',
    check: (raw) => {
      if (!/^fd\[\d+\]:.+/.test(raw)) throw new Error(`'${raw}' is not of the form fd[N]:RESOURCE`);
    },
  }),
  'force-irmap': flag('a dump option (as with criu, accepted here): watches come back from the handles or paths in the images either way'),
  'irmap-scan-path': list('a dump option (as with criu, accepted here): where the dump looked for watched files', { argName: 'PATH' }),
  root: text('change the root file system to PATH (in a mount namespace)', { short: 'r', argName: 'PATH' }),
  'join-ns': list('restore inside an existing namespace: NS:{PID|NS_FILE}[,EXTRA]', { short: 'J', argName: 'NS:TARGET' }),
  'veth-pair': list('outside name of a veth device: IN=OUT', { argName: 'IN=OUT' }),
  'lsm-mount-context': text('new SELinux context= for mounts that had one', { argName: 'CONTEXT' }),
  'weak-sysctls': flag('skip restoring sysctls that are not available'),
  'empty-ns': choice(['net'], 'create this namespace empty, to be set up by an action script'),
  'cpu-cap': cpuCapOption('CPU capabilities the restoring CPU must have'),
  ...dumpRestoreOptions,
  ...externalOption,
  ...streamOption,
} as const;

export type RestoreOptions = OptionValues<typeof restoreOptions>;
