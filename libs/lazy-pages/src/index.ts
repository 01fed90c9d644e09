// @criu-ts/lazy-pages: the lazy-pages daemon (`criu lazy-pages`).
export { runLazyDaemon, LAZY_PAGES_SOCKET, LAZY_PAGES_RESTORE_FINISHED, type LazyDaemonOptions } from './daemon.js';
export { localSource, remoteSource, lazyRuns, MAX_REMOTE_PAGES, type PageSource, type Pages } from './page-source.js';
export { collectIovs, type LazyIov } from './lazy-iovs.js';
