// crit's "extra" key: the raw payload after an entry, as JSON. Base64 lines by
// default; a few kinds have their own shape (pycriu images.py handlers).
import { CriuError } from '@criu-ts/base';
import type { ImageKindSpec } from './kinds.js';
import type { EntryInput } from './entry-encode.js';
import type { ImageEntry, ImageRecord } from './entry-steps.js';
import { base64Lines, fromBase64 } from './crit-format.js';
import { messageFromCrit, messageToCrit } from './crit-json.js';
import { encodeMessage, type ImageMessage } from './wire.js';
import { messageType } from './schema.js';
import type { JsonValue } from './json-text.js';

interface ExtraFormat {
  toCrit(entry: ImageEntry): JsonValue;
  /** fill the entry's payload or records from crit's extra */
  fromCrit(extra: JsonValue, input: EntryInput): void;
  /** payload size crit reports with --nopl */
  size?(entry: ImageEntry): number;
}

const base64Extra: ExtraFormat = {
  toCrit: (entry) => base64Lines(entry.payload ?? Buffer.alloc(0)),
  fromCrit: (extra, input) => {
    input.payload = fromBase64(String(extra));
  },
};

const tcpStream: ExtraFormat = {
  toCrit: (entry) => {
    const payload = entry.payload ?? Buffer.alloc(0);
    const inq = Number(entry.message.inq_len ?? 0);
    return { inq: base64Lines(payload.subarray(0, inq)), outq: base64Lines(payload.subarray(inq)) };
  },
  fromCrit: (extra, input) => {
    const queues = extra as { inq?: string; outq?: string };
    input.payload = Buffer.concat([fromBase64(queues.inq ?? ''), fromBase64(queues.outq ?? '')]);
  },
};

const semaphores: ExtraFormat = {
  toCrit: (entry) => {
    const payload = entry.payload ?? Buffer.alloc(0);
    return Array.from({ length: payload.length >> 1 }, (_unused, i) => payload.readUInt16LE(i * 2));
  },
  fromCrit: (extra, input) => {
    const values = extra as number[];
    const out = Buffer.alloc(values.length * 2);
    values.forEach((value, i) => out.writeUInt16LE(value, i * 2));
    input.payload = out;
  },
};

const messageQueue: ExtraFormat = {
  toCrit: (entry) =>
    (entry.records ?? []).flatMap((record) => [messageToCrit(messageType('ipc_msg'), record.message, false), base64Lines(record.payload)]),
  fromCrit: (extra, input) => {
    const items = extra as JsonValue[];
    const records: ImageRecord[] = [];
    for (let i = 0; i + 1 < items.length; i += 2) {
      const message = messageFromCrit(messageType('ipc_msg'), items[i] as Record<string, JsonValue>);
      records.push({ message, payload: fromBase64(String(items[i + 1])).subarray(0, Number(message.msize ?? 0)) });
    }
    input.records = records;
  },
  size: (entry) =>
    (entry.records ?? []).reduce((sum, r) => sum + encodeMessage('ipc_msg', r.message).length + Number(r.message.msize ?? 0), 0),
};

const formats: Readonly<Record<string, ExtraFormat>> = {
  'tcp-stream': tcpStream,
  'ipcns-sem': semaphores,
  'ipcns-msg': messageQueue,
};

function formatOf(kind: ImageKindSpec): ExtraFormat {
  return formats[kind.name] ?? base64Extra;
}

/** Whether crit shows an extra for this entry. */
export function hasExtra(entry: ImageEntry): boolean {
  return entry.payloadLength !== undefined || entry.payload !== undefined || entry.records !== undefined;
}

export function extraToCrit(kind: ImageKindSpec, entry: ImageEntry): JsonValue {
  return formatOf(kind).toCrit(entry);
}

export function extraFromCrit(kind: ImageKindSpec, extra: JsonValue, input: EntryInput): void {
  if (extra === null) throw new CriuError('extra: null', { code: 'EINVAL' });
  formatOf(kind).fromCrit(extra, input);
}

/** crit's human_readable() of a payload size, e.g. '... <4KB>'. */
export function extraSizeText(kind: ImageKindSpec, entry: ImageEntry): string {
  const size = formatOf(kind).size?.(entry) ?? entry.payloadLength ?? entry.payload?.length ?? 0;
  let num = size;
  for (const unit of ['', 'K', 'M', 'G', 'T', 'P', 'E', 'Z']) {
    if (num < 1024) return `... <${Number.isInteger(num) ? num.toFixed(0) : num.toFixed(1)}${unit}B>`;
    num /= 1024;
  }
  return `... <${num.toFixed(1)}YB>`;
}

export type { ImageMessage };
