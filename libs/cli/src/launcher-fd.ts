// The `criu` umbrella runs each tool as its child and names itself in
// CRIU_TS_LAUNCHER_PID: Node marks the fds a process inherits close-on-exec,
// so fds the caller gave `criu` (criu swrk's socket, a --status-fd, an
// --inherit-fd) stay with the umbrella, and a tool that needs one copies it
// from there (pidfd_getfd; see @criu-ts/rpc's launcherFd). A process the
// tool starts as itself (a --daemon copy) must not inherit the variable.
export const LAUNCHER_PID_ENV = 'CRIU_TS_LAUNCHER_PID';
