// What a fuzz target is, and what a reader may do with a bad input: return,
// or throw our typed error naming the file (or stream member) and an offset
// inside the input. Anything else — a TypeError, a RangeError from Buffer,
// protobufjs' own error escaping, an offset past the end — is a finding.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type fc from 'fast-check';
import { CriuError, ImageError } from '@criu-ts/base';

/** what a reader did with an input: read it, or refused it with our typed error */
export type Outcome = 'accepted' | 'rejected';

export interface FuzzTarget<T = unknown> {
  /** what is fuzzed: 'images/core', 'tar', 'page-server', ... */
  name: string;
  /** its share of a run's inputs, relative to the other targets */
  weight: number;
  arbitrary: fc.Arbitrary<T>;
  /** read one input: whether the reader accepted or rejected it; throws FuzzFinding when it misbehaves */
  check(input: T, scratch: string): Outcome | Promise<Outcome>;
}

/** A reader's misbehaviour on one input. */
export class FuzzFinding extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'FuzzFinding';
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Accept `error` only if it is an ImageError naming a file and an offset
 * within [0, size]; rethrow anything else as a finding.
 */
export function expectImageError(error: unknown, size: number): void {
  if (error instanceof FuzzFinding) throw error;
  if (!(error instanceof ImageError)) throw new FuzzFinding(`not an ImageError: ${describe(error)}`, error);
  if (error.image === '') throw new FuzzFinding(`ImageError without a file name: ${error.message}`, error);
  if (!Number.isSafeInteger(error.offset) || error.offset < 0 || error.offset > size) {
    throw new FuzzFinding(`ImageError offset ${error.offset} outside the ${size}-byte input: ${error.message}`, error);
  }
}

/** Accept our typed errors with one of the codes given (e.g. a protocol error); anything else is a finding. */
export function expectCriuError(error: unknown, codes: readonly string[]): void {
  if (error instanceof FuzzFinding) throw error;
  if (!(error instanceof CriuError) || !codes.includes(error.code)) throw new FuzzFinding(`not a CriuError ${codes.join('/')}: ${describe(error)}`, error);
}

/** Fail unless `bytes` (what a reader kept from one input) is within what the input's size justifies. */
export function expectBounded(what: string, bytes: number, size: number): void {
  if (bytes > size) throw new FuzzFinding(`${what}: ${bytes} bytes kept from a ${size}-byte input`);
}

/** A private scratch directory on tmpfs (or the tmpdir) for targets that need files. */
export function makeScratch(): { dir: string; remove(): void } {
  const base = process.env.CRIU_FUZZ_TMP ?? (process.platform === 'linux' ? '/dev/shm' : tmpdir());
  const dir = mkdtempSync(join(base, 'criu-fuzz-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
