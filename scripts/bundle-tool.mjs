#!/usr/bin/env node
// Bundle one tool into a single file at build time, so it starts by
// loading one script instead of ~200 modules (yargs, protobufjs, our
// libraries). Run from the tool's package directory after `tsc -b` (outDir
// dist/tsc):
//   node ../../scripts/bundle-tool.mjs
// It reads dist/tsc/main.js and writes dist/tool.cjs, a CommonJS script for
// Node 20 (V8 can cache the compiled code of a script, not of an ES
// module: see tool-loader.cjs, copied to dist/main.cjs, the package's bin).
// Native addons (ffi-rs) stay external. import.meta.url is the bundle's own
// file URL: paths a module computes from it keep working because
// dist/tool.cjs is as deep in the tree as libs/NAME/dist/*.js.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NATIVE = ['ffi-rs', '@yuuang/ffi-rs-*'];

await build({
  entryPoints: ['dist/tsc/main.js'],
  outfile: 'dist/tool.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: NATIVE,
  define: { 'import.meta.url': '__criuImportMetaUrl', 'import.meta.dirname': '__dirname' },
  banner: { js: "const __criuImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
// main.ts's hashbang is kept by esbuild; the loader wraps the bundle in a function, where it is no comment
const bundled = readFileSync('dist/tool.cjs', 'utf8');
if (bundled.startsWith('#!')) writeFileSync('dist/tool.cjs', `//${bundled.slice(2)}`);
// a new bundle: its old cache would be refused anyway
rmSync('dist/tool.cjs.cache', { force: true });
rmSync('dist/main.js', { force: true });
copyFileSync(join(dirname(fileURLToPath(import.meta.url)), 'tool-loader.cjs'), 'dist/main.cjs');
chmodSync('dist/main.cjs', 0o755);
