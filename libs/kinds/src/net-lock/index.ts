export { type Connection, connectionText, wireForm } from './connection.js';
export { createNetLock, netLockMethodOf, unlockRestored, NET_LOCK_NUMBER, type NetLock, type NetLockMethod, type RestoredLock } from './net-lock.js';
export { iptablesRule, SOCCR_MARK } from './iptables-lock.js';
export { nftLockScript, nftElements, nftTable, nftHasTable } from './nftables-lock.js';
