// tcp_half_closed: whether TCP_REPAIR can be turned on for a connection
// that sent its FIN (Linux 4.11+; before, EPERM), which dumping
// FIN_WAIT1/FIN_WAIT2/CLOSING/LAST_ACK connections needs — tested as
// upstream does, on a loopback connection shut down for writing.
import { closeSync } from 'node:fs';
import { errnoName } from '@criu-ts/base';
import { AF, SOCK, SOL, SYS, TCP_OPT, getsockname, socket, syscall, trySyscall } from '@criu-ts/kernel';
import { missing, type Feature, type ProbeResult } from '../feature.js';

function loopbackAddr(): Buffer {
  const addr = Buffer.alloc(16);
  addr.writeUInt16LE(AF.INET, 0);
  addr.set([127, 0, 0, 1], 4);
  return addr;
}

function probeHalfClosed(): ProbeResult {
  const listener = socket(AF.INET, SOCK.STREAM | SOCK.CLOEXEC, 0);
  let client = -1;
  try {
    const addr = loopbackAddr();
    syscall(SYS.bind, listener, addr, addr.length);
    syscall(SYS.listen, listener, 1);
    const bound = getsockname(listener);
    client = socket(AF.INET, SOCK.STREAM | SOCK.CLOEXEC, 0);
    syscall(SYS.connect, client, bound, bound.length);
    syscall(SYS.shutdown, client, 1); // SHUT_WR
    const on = trySyscall(SYS.setsockopt, client, SOL.TCP, TCP_OPT.REPAIR, Buffer.from(Int32Array.of(1).buffer), 4);
    if (on.errno !== 0) return missing(`TCP_REPAIR on a half-closed connection: ${errnoName(on.errno)}`);
    return 'ok';
  } finally {
    // still in repair mode: closed without a packet
    if (client >= 0) closeSync(client);
    closeSync(listener);
  }
}

export const tcpHalfClosed: Feature = {
  name: 'tcp_half_closed',
  category: 2,
  neededFor: 'dumping half-closed TCP connections (FIN_WAIT1/2, CLOSING, LAST_ACK) with --tcp-established',
  probe: probeHalfClosed,
};
