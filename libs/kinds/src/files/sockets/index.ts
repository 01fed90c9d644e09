export { unixSocketKind, USK_EXTERN } from './unix-socket.js';
export { inetSocketKind, ESTABLISHED_TCP } from './inet-socket.js';
export { otherSocketKind, familyName } from './other-socket.js';
export { readSocketOpts, type SocketIdentity } from './socket-opts.js';
export { socketTable, type SocketTable } from './socket-table.js';
export { openUnixSocket, describeUnix, USK } from './unix-restore.js';
export { openInetSocket, describeInet } from './inet-restore.js';
export { restoreSocketOpts, restoreFileParams, restoreFown } from './socket-opts-restore.js';
export { finishTcpRestore } from './tcp-repaired.js';
