// @criu-ts/rpc: CRIU's RPC (rpc.proto) — the codec, and the service that
// serves it: a session per client (criu swrk FD, or each connection of
// criu service), each request run by the tool that serves it on the CLI.
export * from './messages.js';
export { recvPacket, sendPacket, type Packet } from './packet.js';
export { requestArgs, DEFAULT_LOG_FILE, type RequestArgs } from './request-args.js';
export { OPTS_TABLE, cpuCapWords, type Mode } from './opts-table.js';
export { serveSession, type SessionInput } from './session.js';
export { serveSocket, SERVICE_CONNECTION_ENV, type ServiceInput } from './service.js';
