import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fromQuotedPrintable, ipFromString, ipToString, quotedPrintable } from './crit-ipquopri.js';
import { devFromString, devToString, flagsFromString, flagsToString, critFlagTables, parsePythonInt, base64Lines } from './crit-format.js';
import { parseJson, pythonJson } from './json-text.js';

const PYTHON = '/usr/bin/python3';

// deterministic pseudo-random byte strings, biased to the characters quoted-printable cares about
function samples(): Buffer[] {
  const out: Buffer[] = [Buffer.alloc(0), Buffer.from('.'), Buffer.from('a \n'), Buffer.from('x\r\ny \r\n'), Buffer.from('='.repeat(40))];
  let state = 12345;
  const special = [0x20, 0x09, 0x0a, 0x0d, 0x2e, 0x3d, 0x00, 0xff, 0x41];
  for (let n = 0; n < 60; n++) {
    const bytes = [];
    for (let i = 0; i < (n * 7) % 200; i++) {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      bytes.push(state % 3 === 0 ? special[state % special.length]! : 0x20 + (state % 95));
    }
    out.push(Buffer.from(bytes));
  }
  return out;
}

t.test('quoted-printable matches Python binascii both ways', { skip: !existsSync(PYTHON) }, async (t) => {
  const inputs = samples();
  const script = 'import sys, json, binascii\nfor h in json.load(sys.stdin): print(binascii.b2a_qp(bytes.fromhex(h)).hex())';
  const python = execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(inputs.map((b) => b.toString('hex'))), encoding: 'utf8' }).replace(/\n$/, '').split('\n');
  inputs.forEach((input, i) => {
    const ours = quotedPrintable(input);
    t.equal(Buffer.from(ours, 'latin1').toString('hex'), python[i] ?? '', `b2a_qp of sample ${i}`);
    t.strictSame(fromQuotedPrintable(ours), input, `a2b_qp inverts sample ${i}`);
  });
});

t.test('IP addresses print as Python ipaddress does and parse back', async (t) => {
  const cases: [number[], string][] = [
    [[0x0100007f], '127.0.0.1'],
    [[0, 0, 0, 0x01000000], '::1'],
    [[0x0000b80d, 0x00000000, 0, 0x01000000], 'db8::1'],
    [[0x000080fe, 0, 0, 0], 'fe80::'],
    [[0x01000100, 0x01000100, 0x01000100, 0x01000100], '1:1:1:1:1:1:1:1'],
    [[0, 0, 0xffff0000, 0x0403020a], '::ffff:a02:304'],
    [[0x0000b80d, 0x00000100, 0, 0x01000000], 'db8:0:1::1'],
    [[0x0000b80d, 0x01000000, 0, 0x01000000], 'db8:0:0:1::1'],
    [[0x01000000, 0, 0x01000000, 0], '0:1::1:0:0'],
  ];
  for (const [words, text] of cases) {
    t.equal(ipToString(words), text);
    t.strictSame(ipFromString(text), words, `parse ${text}`);
  }
  t.strictSame(ipFromString('::ffff:10.2.3.4'), [0, 0, 0xffff0000, 0x0403020a], 'dotted tail');
  t.throws(() => ipFromString('nope'));
});

t.test('flags, devices, numbers and base64 in crit forms', async (t) => {
  const prot = critFlagTables['mmap.prot']!;
  t.equal(flagsToString(7, prot), 'PROT_READ | PROT_WRITE | PROT_EXEC');
  t.equal(flagsToString(0x11, prot), 'PROT_READ | 0x10');
  t.equal(flagsToString(0, prot), '');
  t.equal(flagsFromString('PROT_READ | 0x10', prot), 0x11n);
  t.equal(flagsFromString('', prot), 0n);
  t.equal(devToString(0x00812345, false), '8:74565');
  t.equal(devFromString('8:74565', false), 0x00812345n);
  t.equal(devToString(0x0803, true), '8:3');
  t.equal(devFromString('259:70000', true), devFromString(devToString(devFromString('259:70000', true), true), true));
  t.equal(parsePythonInt('0x1f'), 31n);
  t.equal(parsePythonInt('-0o17'), -15n);
  t.equal(parsePythonInt('1_000'), 1000n);
  t.throws(() => parsePythonInt('012'));
  t.equal(base64Lines(Buffer.alloc(0)), '');
  t.equal(base64Lines(Buffer.alloc(60)).split('\n').map((l) => l.length).join(','), '76,4,0');
});

t.test('JSON text as Python writes it; big integers survive parsing', async (t) => {
  const value = { a: [1, 18446744073709551615n, 'é"\n\u007f'], b: {}, c: [], d: true, e: null };
  t.equal(pythonJson(value), '{"a": [1, 18446744073709551615, "\\u00e9\\"\\n\\u007f"], "b": {}, "c": [], "d": true, "e": null}');
  t.equal(pythonJson({ a: [1], b: {} }, 4), '{\n    "a": [\n        1\n    ],\n    "b": {}\n}');
  t.strictSame(parseJson('{"x": 18446744073709551615, "y": -9223372036854775808, "z": 9007199254740991, "s": "12345678901234567890"}'), {
    x: 18446744073709551615n, y: -9223372036854775808n, z: 9007199254740991, s: '12345678901234567890',
  });
});
