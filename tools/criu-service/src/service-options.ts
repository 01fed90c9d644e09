// Options of `criu service` (criu(8) "service"); `criu swrk FD` serves one
// client on an inherited socket.
import { daemonOption, statusFdOption, text, type OptionValues } from '@criu-ts/cli';

export const serviceOptions = {
  address: text('path of the UNIX socket to listen on', { argName: 'SOCKET' }),
  ...daemonOption,
  ...statusFdOption,
} as const;

export type ServiceOptions = OptionValues<typeof serviceOptions>;
