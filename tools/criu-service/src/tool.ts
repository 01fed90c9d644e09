// criu-service: `criu service` (RPC daemon) and `criu swrk FD` (one client, on an inherited socket).
import { CriuError, UsageError } from '@criu-ts/base';
import type { ToolSpec } from '@criu-ts/cli';
import { serviceOptions } from './service-options.js';

export const serviceTool: ToolSpec<typeof serviceOptions> = {
  name: 'criu-service',
  summary: 'Listen for RPC requests on a UNIX socket (service), or serve one client on an inherited socket (swrk FD).',
  usage: 'criu-service [--address SOCKET] [options] | criu-service swrk FD',
  options: serviceOptions,
  positionals: [
    { name: 'mode', describe: 'service (the default) or swrk', choices: ['service', 'swrk'] },
    { name: 'fd', describe: 'swrk: the socket fd' },
  ],
  run: (ctx) => {
    const { mode, fd } = ctx.args;
    if (mode === 'swrk' && (fd === undefined || !/^\d+$/.test(fd))) throw new UsageError('Usage: criu swrk <fd>');
    if (mode !== 'swrk' && fd !== undefined) throw new UsageError(`excessive parameter: ${fd}`);
    throw new CriuError(`${ctx.tool}: not implemented yet`);
  },
};
