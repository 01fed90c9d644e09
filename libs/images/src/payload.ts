// Sizes of the raw payloads that follow entries, from the kind's PayloadSpec
// and the entry's message.
import { CriuError } from '@criu-ts/base';
import type { PayloadSpec } from './kinds.js';
import type { ImageMessage } from './wire.js';

/** Round n up to a multiple of align. */
export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

function numberField(message: ImageMessage, name: string): number {
  const value = message[name];
  if (value === undefined) return 0;
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new CriuError(`payload size field ${name} is ${String(value)}`, { code: 'EINVAL' });
  }
  return n;
}

/** Bytes of payload data (without padding) and of padding, for a sized spec (undefined: none follows, its `unless` field is true). */
export function sizedPayload(spec: PayloadSpec, message: ImageMessage): { data: number; pad: number } | undefined {
  if (!('sizeOf' in spec)) return undefined;
  if (spec.unless !== undefined && message[spec.unless] === true) return undefined;
  const data = spec.sizeOf.reduce((sum, name) => sum + numberField(message, name), 0) * (spec.unit ?? 1);
  return { data, pad: alignUp(data, spec.align ?? 1) - data };
}

/** How many records follow, for a records spec. */
export function recordCount(spec: PayloadSpec, message: ImageMessage): number {
  return 'records' in spec ? numberField(message, spec.records.count) : 0;
}

/** Whether a rest-of-file payload follows this message. */
export function restFollows(spec: PayloadSpec, message: ImageMessage): boolean {
  return 'rest' in spec && message[spec.unless] !== true;
}

/** The record's data size and padding. */
export function recordSize(spec: PayloadSpec, record: ImageMessage): { data: number; pad: number } {
  if (!('records' in spec)) return { data: 0, pad: 0 };
  const data = numberField(record, spec.records.sizeOf);
  return { data, pad: alignUp(data, spec.records.align) - data };
}
