// Test fixture: run our page server (this thread) against a scripted
// client (a worker thread), both bounded in time, and collect the outcome.
import { Worker } from 'node:worker_threads';
import { defaultLogger, type Logger } from '@criu-ts/base';
import type { ClientScript } from './client-worker.fixture.js';
import { runPageServer, type PageServerOptions } from './server.js';
import type { SessionResult } from './session.js';

export interface Outcome {
  server: SessionResult | Error;
  client: { ok: boolean; error?: string };
  log: string[];
}

/** A logger that keeps its lines (level 4) in `lines`. */
export function memoryLogger(lines: string[], where = 'test'): Logger {
  const sink = defaultLogger().sink;
  const keep = (level: string) => (message: string): void => void lines.push(`${level} (${where}): ${message}`);
  return {
    sink,
    error: keep('Error'),
    warn: keep('Warn'),
    info: keep('Info'),
    debug: keep('Debug'),
    enabled: () => true,
    child: (prefix) => memoryLogger(lines, `${where}/${prefix}`),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Serve one session in `dir`; the client plays `script` (its port is filled in). */
export async function session(dir: string, script: Omit<ClientScript, 'port'>, server: Partial<PageServerOptions> = {}): Promise<Outcome> {
  const log: string[] = [];
  let worker: Worker | undefined;
  let clientDone: Promise<{ ok: boolean; error?: string }> = Promise.resolve({ ok: false, error: 'client never started' });
  const served = runPageServer({
    dir,
    log: memoryLogger(log),
    address: '127.0.0.1',
    port: 0,
    acceptTimeoutMs: 10_000,
    idleTimeoutMs: 10_000,
    ...server,
    onReady: (port) => {
      const w = new Worker(new URL('./client-worker.fixture.ts', import.meta.url), { workerData: { ...script, port } });
      worker = w;
      clientDone = new Promise((resolve) => {
        w.once('message', resolve);
        w.once('error', (error) => resolve({ ok: false, error: `worker: ${error.message}` }));
      });
    },
  }).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
  try {
    const result = await withTimeout(served, 20_000, 'the page server');
    const client = await withTimeout(clientDone, 20_000, 'the client');
    return { server: result, client, log };
  } finally {
    await worker?.terminate();
  }
}
