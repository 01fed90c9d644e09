import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { imageKinds, IMG_COMMON_MAGIC, IMG_SERVICE_MAGIC, type ImageKindSpec } from './kinds.js';
import { imageFileName, kindByMagic, kindByMagicName, kindOfFileName } from './kind-lookup.js';
import { hasMessageType } from './schema.js';

const MAGIC_PY = '/usr/lib/python3/dist-packages/pycriu/images/magic.py';

t.test('every magic of pycriu magic.py is in the table with its value', { skip: !existsSync(MAGIC_PY) }, async (t) => {
  const script = `import runpy, json; m = runpy.run_path('${MAGIC_PY}'); print(json.dumps(m['by_name']))`;
  const byName = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8' })) as Record<string, number>;
  t.equal(byName.IMG_COMMON, IMG_COMMON_MAGIC);
  t.equal(byName.IMG_SERVICE, IMG_SERVICE_MAGIC);
  for (const [name, value] of Object.entries(byName)) {
    if (['IMG_COMMON', 'IMG_SERVICE', 'CRTOOLS_IMAGES_V1_1'].includes(name)) continue;
    t.equal(kindByMagicName(name)?.magic, value, `${name} = 0x${value.toString(16)}`);
  }
});

t.test('the table is consistent', async (t) => {
  const names = new Set<string>();
  for (const kind of imageKinds) {
    t.notOk(names.has(kind.name), `${kind.name} is unique`);
    names.add(kind.name);
    t.equal(kind.header === 'none', kind.magic === 0, `${kind.name}: raw images, and only they, have no magic`);
    if (kind.magic !== 0) t.equal(kindByMagic(kind.magic)?.magic, kind.magic);
  }
  t.equal(imageFileName('core', 42), 'core-42.img');
  t.equal(imageFileName('tcp-stream', 0xabcn), 'tcp-stream-abc.img');
  t.equal(imageFileName('stats', 'dump'), 'stats-dump', 'no .img: the name users (zdtm, LXD) read');
  t.equal(imageFileName('irmap-cache'), 'irmap-cache');
  t.equal(imageFileName('inventory'), 'inventory.img');
  t.throws(() => imageFileName('core'), /needs an id/);
});

t.test('message types of the table that proto/ does not have yet', async (t) => {
  const missing = (imageKinds as readonly ImageKindSpec[]).flatMap((kind) => [kind.message, kind.head].filter((m): m is string => m !== undefined && !hasMessageType(m)));
  t.comment(missing.length === 0 ? 'proto/ has every message type' : `missing from proto/: ${missing.join(', ')}`);
  t.ok(hasMessageType('pagemap_entry') && hasMessageType('core_entry'), 'the first protos are there');
});

t.test('file names map back to their kinds', async (t) => {
  t.equal(kindOfFileName('core-42.img')?.name, 'core');
  t.equal(kindOfFileName('stats-dump')?.name, 'stats');
  t.equal(kindOfFileName('pages-3.img')?.name, 'pages');
  t.equal(kindOfFileName('dump.log'), undefined);
  t.equal(kindOfFileName('core-x.img'), undefined);
});
