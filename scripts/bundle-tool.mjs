#!/usr/bin/env node
// Bundle one tool into a single file at build time, so it starts by
// loading one module instead of ~200 (yargs, protobufjs, our libraries).
// Run from the tool's package directory after `tsc -b` (outDir dist/tsc):
//   node ../../scripts/bundle-tool.mjs
// It reads dist/tsc/main.js and writes dist/main.js (the package's bin), an
// ES module for Node 20. Native addons (ffi-rs) stay external; CommonJS
// dependencies get a `require` made with createRequire. Paths a module
// computes from import.meta.url keep working because dist/main.js is as deep
// in the tree as libs/NAME/dist/*.js.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

const NATIVE = ['ffi-rs', '@yuuang/ffi-rs-*'];

await build({
  entryPoints: ['dist/tsc/main.js'],
  outfile: 'dist/main.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: NATIVE,
  banner: { js: "import { createRequire as __criuCreateRequire } from 'node:module'; const require = __criuCreateRequire(import.meta.url);" },
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
chmodSync('dist/main.js', 0o755);
