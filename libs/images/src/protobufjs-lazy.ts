// protobufjs, loaded on first use: only crit's JSON path (crit-json.ts) and
// the sample messages of tests walk its reflection; encoding and decoding
// images never load it (wire.ts works from the generated wire table).
// Required at run time rather than imported, so that a tool's bundle
// neither holds nor initialises it: it is resolved from node_modules.
import { createRequire } from 'node:module';
import type protobuf from 'protobufjs';

let loaded: typeof protobuf | undefined;

/** The protobufjs module. */
export function protobufjs(): typeof protobuf {
  loaded ??= createRequire(import.meta.url)('protobufjs') as typeof protobuf;
  return loaded;
}
