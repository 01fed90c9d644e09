// crit's verbs on top of @criu-ts/images: each reads its input (a path or
// stdin), converts, and writes its output (a path or stdout).
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import {
  createImage, imageInfo, imageReaderOnFd, imageToCrit, imageWriterOnFd, parseJson, pythonJson, writeCritImage,
  type ImageReader,
} from '@criu-ts/images';

export interface DecodeOptions {
  in?: string;
  out?: string;
  pretty?: boolean;
  nopl?: boolean;
}

function withReader<T>(input: string | undefined, skipPayloads: boolean, use: (reader: ImageReader) => T): T {
  const fd = input === undefined ? 0 : openSync(input, 'r');
  try {
    const name = input === undefined ? 'stdin' : basename(input);
    return use(imageReaderOnFd(fd, undefined, { name, skipPayloads }));
  } finally {
    if (input !== undefined) closeSync(fd);
  }
}

function writeText(text: string, out: string | undefined): void {
  if (out === undefined) process.stdout.write(`${text}\n`);
  else writeFileSync(out, text);
}

/** crit decode / crit show: an image as JSON. */
export function decode(options: DecodeOptions): void {
  const noPayload = options.nopl === true;
  const json = withReader(options.in, noPayload, (reader) => imageToCrit(reader, { pretty: options.pretty === true, noPayload }));
  writeText(pythonJson(json, options.pretty === true ? 4 : undefined), options.out);
}

/** crit encode: JSON back to an image. */
export function encode(options: { in?: string; out?: string }): void {
  const json = parseJson(readFileSync(options.in ?? 0, 'utf8'));
  const out = options.out;
  writeCritImage(json, (kind) => (out === undefined ? imageWriterOnFd(1, kind, { name: 'stdout' }) : createImage(out, kind)));
}

/** crit info: magic and entry count. */
export function info(options: { in: string }): void {
  const result = withReader(options.in, true, imageInfo);
  writeText(pythonJson(result, 4), undefined);
}
