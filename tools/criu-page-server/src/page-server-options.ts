// Options of `criu page-server` (criu(8) "page-server").
import { daemonOption, flag, int, pageServerAddressOptions, statusFdOption, tlsOptions, type OptionValues } from '@criu-ts/cli';

export const pageServerOptions = {
  ...pageServerAddressOptions,
  'ps-socket': int('use this already connected socket fd; --address and --port are then ignored', { argName: 'FD' }),
  ...daemonOption,
  ...statusFdOption,
  'lazy-pages': flag('serve the local memory dump to a remote lazy-pages daemon'),
  'auto-dedup': flag('deduplicate pages against the parent images as they arrive'),
  ...tlsOptions,
} as const;

export type PageServerOptions = OptionValues<typeof pageServerOptions>;
