// @criu-ts/page-server: CRIU's page-server protocol — the server that
// `criu page-server` runs and the client `criu dump --page-server` uses.
export * from './protocol.js';
export { PAGES_ID_BASE, ReceivedImages } from './received-images.js';
export { serveSession, type SessionLimits, type SessionOptions, type SessionResult } from './session.js';
export { runPageServer, type PageServerOptions } from './server.js';
export { PageServerClient, clientOnOwnedFd, type ClientRun, type RunSource } from './client.js';
export { connectPageServer, connectPageServerSync, type ConnectOptions } from './client-connect.js';
export { TLS_DEFAULTS, loadTlsMaterial, serverTlsOptions, clientCertificateProblem, clientTlsOptions, tlsFailure, type TlsFiles, type TlsMaterial } from './tls-files.js';
export { imagesLazyPages, frozenTaskLazyPages, type LazyPagesSource } from './lazy-pages-source.js';
