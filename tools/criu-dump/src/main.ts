#!/usr/bin/env node
import { runTool } from '@criu-ts/cli';
import { dumpTool } from './tool.js';

void runTool(dumpTool).then((code) => {
  process.exitCode = code;
});
