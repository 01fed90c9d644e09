// Load every proto/*.proto into one protobufjs Root, resolving imports from
// the proto directory (and google/protobuf/* from the protobufjs package).
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

function googleProtoDir(): string {
  // .../protobufjs/google/protobuf/descriptor.proto → .../protobufjs
  return dirname(dirname(dirname(require.resolve('protobufjs/google/protobuf/descriptor.proto'))));
}

/** The .proto files of a directory, sorted, as absolute paths. */
export function listProtos(protoDir: string): string[] {
  return readdirSync(protoDir)
    .filter((name) => name.endsWith('.proto'))
    .sort()
    .map((name) => join(protoDir, name));
}

/** Parse and resolve every .proto in protoDir; field names keep their snake_case. */
export function loadProtos(dir: string): protobuf.Root {
  const protoDir = resolve(dir);
  const root = new protobuf.Root();
  const googleDir = googleProtoDir();
  root.resolvePath = (_origin: string, target: string): string => {
    if (isAbsolute(target)) return target;
    if (target.startsWith('google/protobuf/')) return join(googleDir, target);
    return join(protoDir, target);
  };
  const files = listProtos(protoDir);
  if (files.length > 0) root.loadSync(files, { keepCase: true });
  root.resolveAll();
  return root;
}

type JsonNamespace = { nested?: Record<string, JsonNamespace & { extend?: string }> } & Record<string, unknown>;

/**
 * The run-time bundle: the root as protobufjs JSON without google.protobuf and
 * without the option extensions (crit's field options stay on each field).
 */
export function bundleJson(root: protobuf.Root): JsonNamespace {
  const json = root.toJSON() as JsonNamespace;
  const nested = json.nested ?? {};
  delete nested.google;
  for (const [name, item] of Object.entries(nested)) {
    if (typeof item.extend === 'string') delete nested[name];
  }
  return json;
}
