// Options of `criu lazy-pages` (criu(8) "lazy-pages").
import { daemonOption, flag, pageServerAddressOptions, statusFdOption, tlsOptions, type OptionValues } from '@criu-ts/cli';

export const lazyPagesOptions = {
  'page-server': flag('fetch pages from a remote page server (at --address, --port) instead of the images dir'),
  ...pageServerAddressOptions,
  ...daemonOption,
  ...statusFdOption,
  ...tlsOptions,
} as const;

export type LazyPagesOptions = OptionValues<typeof lazyPagesOptions>;
