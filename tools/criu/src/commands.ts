// criu(8)'s commands and the tool that runs each. Data only: the umbrella
// looks a command up here and runs its tool with the same arguments.

export interface Command {
  /** the word after `criu` */
  name: string;
  /** the tool binary, e.g. 'criu-dump'; absent for commands that only say they are deprecated */
  tool?: string;
  /** words put before the user's arguments, e.g. ['pre-dump'] for criu-dump */
  prefix?: readonly string[];
  /** lines printed (as errors) for a deprecated command, which then fails */
  deprecated?: readonly string[];
  /** the --help lines: [what is typed, what it does] */
  help: readonly (readonly [string, string])[];
}

export const commands: readonly Command[] = [
  { name: 'dump', tool: 'criu-dump', help: [['dump', 'checkpoint a process/tree identified by pid']] },
  { name: 'pre-dump', tool: 'criu-dump', prefix: ['pre-dump'], help: [['pre-dump', 'pre-dump task(s) minimizing their frozen time']] },
  { name: 'restore', tool: 'criu-restore', help: [['restore', 'restore a process/tree']] },
  { name: 'lazy-pages', tool: 'criu-lazy-pages', help: [['lazy-pages', 'launch the daemon filling memory of tasks restored with --lazy-pages']] },
  { name: 'check', tool: 'criu-check', help: [['check', 'checks whether the kernel support is up-to-date']] },
  { name: 'page-server', tool: 'criu-page-server', help: [['page-server', 'launch page server']] },
  { name: 'service', tool: 'criu-service', help: [['service', 'launch service (RPC daemon)']] },
  { name: 'swrk', tool: 'criu-service', prefix: ['swrk'], help: [['swrk FD', 'serve one RPC client on an inherited socket (used by libcriu)']] },
  { name: 'dedup', tool: 'criu-dedup', help: [['dedup', 'remove duplicates in memory dump']] },
  {
    name: 'cpuinfo',
    tool: 'criu-cpuinfo',
    help: [
      ['cpuinfo dump', 'writes cpu information into image file'],
      ['cpuinfo check', 'validates cpu information read from image file'],
    ],
  },
  {
    name: 'exec',
    deprecated: ['The "exec" action is deprecated by the Compel library.'],
    help: [['exec', 'deprecated: execute a system call in a task; use Compel instead']],
  },
  {
    name: 'show',
    deprecated: ['The "show" action is deprecated by the CRIT utility.', 'To view an image use the "crit decode -i $name --pretty" command.'],
    help: [],
  },
];

export function findCommand(name: string): Command | undefined {
  return commands.find((c) => c.name === name);
}

export function usageText(): string {
  const rows = commands.flatMap((c) => c.help);
  return [
    'Usage:',
    '  criu dump|pre-dump -t PID [<options>]',
    '  criu restore [<options>]',
    '  criu check [--feature FEAT]',
    '  criu page-server',
    '  criu service [<options>]',
    '  criu dedup',
    '  criu lazy-pages -D DIR [<options>]',
    '  criu cpuinfo dump|check',
    '',
    'Commands:',
    ...rows.map(([typed, what]) => `  ${typed.padEnd(15)}${what}`),
    '',
    "Each command runs the tool criu-COMMAND with the same arguments; 'criu-COMMAND --help' lists its options.",
    'See criu(8).',
    '',
  ].join('\n');
}
