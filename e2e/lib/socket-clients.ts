// Clients the socket round trips talk to a restored server with: one reply
// from a TCP or unix stream server, one from a UDP one. Each wait is bounded.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

/** One reply from a TCP or unix stream server (bounded); an empty message sends nothing. */
export function ask(options: { path: string } | { host: string; port: number }, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(options, () => {
      if (message !== '') sock.end(message);
    });
    let data = '';
    sock.setTimeout(5000, () => sock.destroy(new Error(`no answer from ${JSON.stringify(options)}`)));
    sock.on('data', (chunk) => (data += chunk.toString()));
    sock.on('close', () => resolve(data));
    sock.on('error', reject);
  });
}

/** One UDP datagram to 127.0.0.1:port and its answer (bounded). */
export function askUdp(port: number, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`no UDP answer from port ${port}`));
    }, 5000);
    sock.on('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(msg.toString());
    });
    sock.send(message, port, '127.0.0.1');
  });
}
