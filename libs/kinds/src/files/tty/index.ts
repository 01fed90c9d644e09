// Terminals: the tty fd kind and the tree-wide step that pairs ptys.
export { ttyKind } from './tty-kind.js';
export { ttyTreeKind } from './tty-tree-kind.js';
export { classifyTty, ttyInfoId, type TtyDriver } from './tty-driver.js';
export { termiosFromBytes, controlChars, TTY_IOCTL } from './tty-ioctls.js';
