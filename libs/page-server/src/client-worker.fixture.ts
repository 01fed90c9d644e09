// Test fixture: a page-server client in a worker thread (the client blocks,
// so it cannot share the server's event loop). It plays a script of steps
// and posts {ok: true} or {ok: false, error}.
import { closeSync, mkdtempSync, rmSync, writeFileSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { pipe2 } from '@criu-ts/kernel';
import { connectPageServer } from './client-connect.js';
import type { PageServerClient } from './client.js';
import type { PagemapKind } from './protocol.js';
import type { TlsMaterial } from './tls-files.js';

export type Step =
  | { open: [PagemapKind, number] }
  | { run: { vaddr: bigint; nrPages: number; flags: number }; via?: 'data' | 'pipe' | 'file' }
  | { flush: boolean }
  | { raw: Buffer }
  | { close: true };

export interface ClientScript {
  port: number;
  tls?: TlsMaterial;
  steps: Step[];
}

/** The bytes of a run: each page filled from its address, so any mix-up shows. */
export function runData(vaddr: bigint, nrPages: number): Buffer {
  const data = Buffer.alloc(nrPages * 4096);
  for (let i = 0; i < nrPages; i += 1) data.fill(Number(((vaddr >> 12n) + BigInt(i)) % 251n) + 1, i * 4096, (i + 1) * 4096);
  return data;
}

function sendRun(client: PageServerClient, step: Extract<Step, { run: unknown }>, scratch: string): void {
  const data = runData(step.run.vaddr, step.run.nrPages);
  if ((step.run.flags & 4) === 0) return client.addRun(step.run);
  if (step.via === 'pipe') {
    const [r, w] = pipe2();
    try {
      writeSync(w, data);
      client.addRun(step.run, { pipe: r });
    } finally {
      closeSync(r);
      closeSync(w);
    }
    return;
  }
  if (step.via === 'file') {
    const path = join(scratch, 'run');
    writeFileSync(path, Buffer.concat([Buffer.alloc(4096), data]));
    const fd = openSync(path, 'r');
    try {
      client.addRun(step.run, { file: fd, offset: 4096 });
    } finally {
      closeSync(fd);
    }
    return;
  }
  client.addRun(step.run, { data });
}

async function play(script: ClientScript): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'ps-client-'));
  const client = await connectPageServer({ address: '127.0.0.1', port: script.port, tls: script.tls, timeoutMs: 10_000 });
  try {
    for (const step of script.steps) {
      if ('open' in step) client.open(step.open[0], step.open[1]);
      else if ('run' in step) sendRun(client, step, scratch);
      else if ('flush' in step) client.flush(step.flush);
      else if ('raw' in step) writeSync(client.fd, step.raw);
      else client.close();
    }
  } finally {
    client.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (parentPort !== null) {
  const port = parentPort;
  play(workerData as ClientScript).then(
    () => port.postMessage({ ok: true }),
    (error: unknown) => port.postMessage({ ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
}
