// Our JSON against Debian's crit 3.17 (/usr/bin/crit): for every image kind
// crit handles, write an image with our library, decode it with `crit decode`
// (plain and --pretty) and with ours, and compare; then `crit encode` crit's
// JSON and read the result with our reader. Field names are mapped by number
// to crit's 3.17 schema (and fields it lacks dropped), so newer proto/ files
// compare too.
import t, { type Test } from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import protobuf from 'protobufjs';
import { imageKinds, type ImageKindSpec } from './kinds.js';
import { writeImage } from './image-files.js';
import { openImage } from './image-reader.js';
import { imageToCrit } from './crit-image.js';
import { kindHasSchema, sampleEntries } from './sample-image.js';
import { messageType } from './schema.js';
import { parseJson, pythonJson, type JsonValue } from './json-text.js';

const run = promisify(execFile);
const CRIT = '/usr/bin/crit';
const PYTHON = '/usr/bin/python3';

if (!existsSync(CRIT)) {
  t.plan(0, `${CRIT} is not installed`);
} else {
  const script = `
import json, sys
sys.path.insert(0, '/usr/lib/python3/dist-packages')
from pycriu import images
from pycriu.images import pb
fields = {}
def walk(d):
    fields[d.full_name] = {f.number: f.name for f in d.fields}
    for n in d.nested_types: walk(n)
for name in dir(pb):
    d = getattr(getattr(pb, name), 'DESCRIPTOR', None)
    if d is not None and hasattr(d, 'fields'): walk(d)
print(json.dumps({'fields': fields, 'handlers': sorted(images.images.handlers.keys())}))
`;
  const crit = JSON.parse(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' })) as {
    fields: Record<string, Record<string, string>>;
    handlers: string[];
  };

  type JsonObject = { [key: string]: JsonValue };

  /** Our JSON object with crit 3.17's field names (by number); fields 3.17 lacks dropped. */
  const toCritNames = (type: protobuf.Type, object: JsonObject): JsonObject => {
    const names = crit.fields[type.fullName.slice(1)];
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(object)) {
      const field = type.fields[key];
      if (field === undefined || names === undefined) {
        out[key] = value;
        continue;
      }
      const name = names[String(field.id)];
      if (name === undefined) continue;
      const sub = field.resolvedType;
      const map = (item: JsonValue): JsonValue => (sub instanceof protobuf.Type ? toCritNames(sub, item as JsonObject) : item);
      out[name] = Array.isArray(value) && sub instanceof protobuf.Type ? value.map(map) : map(value);
    }
    return out;
  };

  const ours = (kind: ImageKindSpec, path: string, pretty: boolean): string => {
    const reader = openImage(path, kind);
    try {
      const json = imageToCrit(reader, { pretty });
      const entries = (json.entries as JsonObject[]).map((entry, i) => {
        const typeName = (i === 0 ? kind.head : undefined) ?? kind.message ?? '';
        const { extra, ...fields } = entry;
        const mapped = toCritNames(messageType(typeName), fields);
        return extra === undefined ? mapped : { ...mapped, extra };
      });
      return pythonJson({ magic: json.magic ?? null, entries }, pretty ? 4 : undefined);
    } finally {
      reader.close();
    }
  };

  const dir = mkdtempSync(join(tmpdir(), 'images-crit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const kinds: ImageKindSpec[] = imageKinds.filter((kind) => kindHasSchema(kind) && crit.handlers.includes(kind.magicName));

  // crit 3.17's ipc_shm_handler and bpfmap_data_extra_handler call
  // base64.decodebytes() on a str, so `crit encode` fails on these kinds.
  const critEncodeBroken = ['IPCNS_SHM', 'BPFMAP_DATA'];

  const checkKind = async (t: Test, kind: ImageKindSpec, seed: number): Promise<void> => {
    const path = join(dir, `${kind.name}-${seed}.img`);
    writeImage(path, kind.name as never, sampleEntries(kind, seed) as never);
    for (const pretty of [false, true]) {
      const { stdout } = await run(CRIT, ['decode', '-i', path, ...(pretty ? ['--pretty'] : [])], { maxBuffer: 1 << 26 });
      t.equal(ours(kind, path, pretty), stdout.replace(/\n$/, ''), `${kind.name} seed ${seed}${pretty ? ' --pretty' : ''}: same JSON text as crit`);
      if (critEncodeBroken.includes(kind.magicName)) continue;
      const encoded = join(dir, `${kind.name}-${seed}-${pretty ? 'p' : 'n'}.crit.img`);
      const jsonPath = `${encoded}.json`;
      writeFileSync(jsonPath, stdout);
      await run(CRIT, ['encode', '-i', jsonPath, '-o', encoded]);
      t.strictSame(parseJson(ours(kind, encoded, pretty)), parseJson(stdout), `${kind.name} seed ${seed}: we read what crit encode wrote`);
    }
  };

  t.test('crit decodes what we write to the JSON we produce, and we read what it encodes', async (t) => {
    t.ok(kinds.length >= 10, `${kinds.length} kinds that both crit and proto/ know`);
    const jobs = kinds.flatMap((kind) => (kind.headPayload === undefined ? [[kind, 0] as const] : [[kind, 0] as const, [kind, 1] as const]));
    const queue = [...jobs];
    const worker = async (): Promise<void> => {
      for (let job = queue.shift(); job !== undefined; job = queue.shift()) await checkKind(t, job[0], job[1]);
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  });
}
