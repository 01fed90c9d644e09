#!/usr/bin/env node
// A tool's entry (copied to tools/NAME/dist/main.cjs at build): it runs the
// tool's bundle, dist/tool.cjs, compiled with a V8 code cache kept beside
// it (tool.cjs.cache), as Node 22's module.enableCompileCache does: a
// command then starts without parsing the ~0.7 MB bundle, and the
// functions an earlier run compiled (the dump or restore path) are not
// compiled again while the tree is frozen.
//
// The cache holds what was compiled up to the end of the run that wrote it.
// It is written at exit when there was none or V8 refused the one there
// (another bundle, Node or V8 flags), atomically (a temporary file renamed
// over it), 0644, and only where this process's user owns the directory —
// so a tool installed read-only, or run by another user, only reads it.
// CRIU_TS_CODE_CACHE=0 turns it off; =refresh rewrites it at exit.
'use strict';
const { closeSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } = require('node:fs');
const { createRequire, wrap } = require('node:module');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

const bundle = join(__dirname, 'tool.cjs');
const cacheFile = `${bundle}.cache`;
const mode = process.env.CRIU_TS_CODE_CACHE;
const source = readFileSync(bundle, 'utf8');

function readCache() {
  if (mode === '0' || mode === 'refresh') return undefined;
  try {
    return readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}

function ownDirectory() {
  try {
    return typeof process.geteuid === 'function' && statSync(__dirname).uid === process.geteuid();
  } catch {
    return false;
  }
}

function writeCache(script) {
  const temporary = `${cacheFile}.${process.pid}`;
  try {
    const data = script.createCachedData();
    const fd = openSync(temporary, 'wx', 0o644);
    try {
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, cacheFile);
  } catch {
    // a cache is an optimisation: a full disk or a race costs nothing but speed
    try {
      unlinkSync(temporary);
    } catch {
      // not made
    }
  }
}

const cachedData = readCache();
const script = new Script(wrap(source), { filename: bundle, cachedData });
if (mode !== '0' && (cachedData === undefined || script.cachedDataRejected === true) && ownDirectory()) {
  process.once('exit', () => writeCache(script));
}
const module_ = { exports: {}, filename: bundle, id: bundle, loaded: false };
script.runInThisContext().call(module_.exports, module_.exports, createRequire(bundle), module_, bundle, dirname(bundle));
