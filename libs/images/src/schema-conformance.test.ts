// Our proto/ against the schemas crit 3.17 was built from (Debian's pycriu
// *_pb2 modules): every message and enum there must exist here with the same
// field numbers, names, types, labels, defaults, criu options and enum values.
// Where current upstream CRIU grew a message, ours may only add optional or
// repeated fields (and enum values), never change or require one.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));
const require = createRequire(import.meta.url);

// Schemas of other architectures, left out on purpose (see proto/core.proto).
const OTHER_ARCH_FILES = new Set(['core-aarch64.proto', 'core-arm.proto', 'core-mips.proto', 'core-ppc64.proto', 'core-s390.proto']);
const OTHER_ARCH_FIELDS: Record<string, string[]> = { core_entry: ['ti_arm', 'ti_aarch64', 'ti_ppc64', 'ti_s390', 'ti_mips'] };
// Fields upstream renamed after 3.17 (same number, type and meaning).
const RENAMED: Record<string, Record<number, string>> = { pagemap_entry: { 2: 'compat_nr_pages' } };

interface PyField { name: string; number: number; label: string; type: string; typeName?: string; default?: unknown; criu: Record<string, unknown> }
interface PyMessage { name: string; fields: PyField[] }
interface PyEnum { name: string; values: Record<string, number> }
interface PyFile { file: string; messages: PyMessage[]; enums: PyEnum[] }

// Prints one JSON document: every message and enum of every pycriu module.
const DUMP_SCRIPT = String.raw`
import importlib, json, pkgutil
import pycriu.images as P
from google.protobuf.descriptor import FieldDescriptor as F
LABEL = {F.LABEL_OPTIONAL: 'optional', F.LABEL_REQUIRED: 'required', F.LABEL_REPEATED: 'repeated'}
TYPE = {v: k[5:].lower() for k, v in vars(F).items() if k.startswith('TYPE_')}
def criu_opts(f):
    out = {}
    for ext, val in f.GetOptions().ListFields():
        if ext.name == 'criu':
            out.update({d.name: v for d, v in val.ListFields()})
    return out
def field(f):
    d = {'name': f.name, 'number': f.number, 'label': LABEL[f.label], 'type': TYPE[f.type], 'criu': criu_opts(f)}
    if f.message_type or f.enum_type:
        d['typeName'] = (f.message_type or f.enum_type).full_name
    if f.has_default_value:
        d['default'] = f.default_value
    return d
def walk(m, msgs, enums):
    msgs.append({'name': m.full_name, 'fields': [field(f) for f in m.fields]})
    enums.extend({'name': e.full_name, 'values': {v.name: v.number for v in e.values}} for e in m.enum_types)
    for n in m.nested_types:
        walk(n, msgs, enums)
files = []
for mi in pkgutil.iter_modules(P.__path__):
    if not mi.name.endswith('_pb2'):
        continue
    d = importlib.import_module('pycriu.images.' + mi.name).DESCRIPTOR
    msgs = []
    enums = [{'name': e.full_name, 'values': {v.name: v.number for v in e.values}} for e in d.enum_types_by_name.values()]
    for m in d.message_types_by_name.values():
        walk(m, msgs, enums)
    files.append({'file': d.name, 'messages': msgs, 'enums': enums})
print(json.dumps(files))
`;

function pythonCandidates(): string[] {
  const list = [process.env.PYCRIU_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  return [...new Set(list)];
}

// The pycriu facts, or an Error saying why they could not be read.
function readPycriuFacts(): PyFile[] | Error {
  const tried: string[] = [];
  for (const python of pythonCandidates()) {
    const run = spawnSync(python, ['-c', DUMP_SCRIPT], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
    if (run.status === 0) return JSON.parse(run.stdout) as PyFile[];
    const why = run.error ? run.error.message : (run.stderr.trim().split('\n').pop() ?? `exit ${run.status}`);
    tried.push(`${python}: ${why}`);
  }
  return new Error(
    'cannot read the reference schemas: python3 with pycriu (Debian package "criu", ' +
      '/usr/lib/python3/dist-packages/pycriu) is required; set PYCRIU_PYTHON to pick an interpreter.\n  ' +
      tried.join('\n  '),
  );
}

function loadProtos(files: string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) =>
    target.startsWith('google/protobuf/') ? require.resolve(`protobufjs/${target}`) : path.join(PROTO_DIR, target);
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  return root;
}

function collect(ns: protobuf.NamespaceBase, types: Map<string, protobuf.Type>, enums: Map<string, protobuf.Enum>): void {
  for (const obj of ns.nestedArray) {
    const name = obj.fullName.replace(/^\./, '');
    if (obj instanceof protobuf.Enum) enums.set(name, obj);
    if (obj instanceof protobuf.Type) types.set(name, obj);
    if (obj instanceof protobuf.Namespace || obj instanceof protobuf.Type) collect(obj, types, enums);
  }
}

function isReserved(type: protobuf.Type, id: number, name: string): boolean {
  return (type.reserved ?? []).some((r) => (typeof r === 'string' ? r === name : r[0] <= id && id <= r[1]));
}

function labelOf(f: protobuf.Field): string {
  if (f.repeated) return 'repeated';
  return f.required ? 'required' : 'optional';
}

function typeOf(f: protobuf.Field): { type: string; typeName?: string } {
  const rt = f.resolvedType;
  if (rt instanceof protobuf.Type) return { type: 'message', typeName: rt.fullName.replace(/^\./, '') };
  if (rt instanceof protobuf.Enum) return { type: 'enum', typeName: rt.fullName.replace(/^\./, '') };
  return { type: f.type };
}

function criuOptsOf(f: protobuf.Field): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(f.options ?? {})) {
    const m = /^\(criu\)\.(\w+)$/.exec(key);
    if (m) out[m[1]] = value;
  }
  return out;
}

function defaultOf(f: protobuf.Field): unknown {
  const d: unknown = f.options?.default;
  if (d === undefined) return undefined;
  if (f.resolvedType instanceof protobuf.Enum && typeof d === 'string') return f.resolvedType.values[d];
  return d;
}

function checkField(t: Test, where: string, py: PyField, ours: protobuf.Field | undefined): void {
  if (!ours) {
    t.fail(`${where}: field ${py.number} (${py.name}) is missing`);
    return;
  }
  const { type, typeName } = typeOf(ours);
  t.same(
    { name: ours.name, label: labelOf(ours), type, typeName, default: defaultOf(ours), criu: criuOptsOf(ours) },
    { name: RENAMED[where]?.[py.number] ?? py.name, label: py.label, type: py.type, typeName: py.typeName, default: py.default, criu: py.criu },
    `${where}.${py.name} = ${py.number}`,
  );
}

function checkMessage(t: Test, py: PyMessage, ours: protobuf.Type): void {
  const skipped = OTHER_ARCH_FIELDS[py.name] ?? [];
  const known = new Set(py.fields.map((f) => f.number));
  for (const f of py.fields) {
    if (skipped.includes(f.name)) {
      t.ok(isReserved(ours, f.number, f.name), `${py.name}: other-arch field ${f.name} = ${f.number} stays reserved`);
      continue;
    }
    checkField(t, py.name, f, ours.fieldsById[f.number]);
  }
  for (const f of ours.fieldsArray.filter((x) => !known.has(x.id))) {
    t.not(labelOf(f), 'required', `${py.name}: field ${f.name} = ${f.id}, added after 3.17, is not required`);
  }
}

function checkEnum(t: Test, py: PyEnum, ours: protobuf.Enum): void {
  const picked = Object.fromEntries(Object.keys(py.values).map((k) => [k, ours.values[k]]));
  t.same(picked, py.values, `enum ${py.name} values`);
}

const protoFiles = readdirSync(PROTO_DIR).filter((f) => f.endsWith('.proto')).sort();

t.test('every proto file parses and resolves on its own', async (t) => {
  t.ok(protoFiles.length > 0, `proto files found in ${PROTO_DIR}`);
  for (const file of protoFiles) {
    t.doesNotThrow(() => loadProtos([file]), file);
  }
});

t.test('proto/ matches the pycriu 3.17 schemas', async (t) => {
  const facts = readPycriuFacts();
  if (facts instanceof Error) {
    t.fail(facts.message);
    return;
  }
  const types = new Map<string, protobuf.Type>();
  const enums = new Map<string, protobuf.Enum>();
  collect(loadProtos(protoFiles), types, enums);
  t.ok(facts.length >= 60, `pycriu has its schema modules (${facts.length})`);
  for (const file of facts.filter((f) => !OTHER_ARCH_FILES.has(f.file))) {
    t.test(file.file, async (t) => {
      for (const m of file.messages) {
        const ours = types.get(m.name);
        if (!ours) t.fail(`message ${m.name} is missing`);
        else {
          t.equal(path.basename(ours.filename ?? ''), file.file, `message ${m.name} lives in ${file.file}`);
          checkMessage(t, m, ours);
        }
      }
      for (const e of file.enums) {
        const ours = enums.get(e.name);
        if (!ours) t.fail(`enum ${e.name} is missing`);
        else checkEnum(t, e, ours);
      }
    });
  }
});
