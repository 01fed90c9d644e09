#!/usr/bin/env node
import { runTool } from '@criu-ts/cli';
import { dedupTool } from './tool.js';

void runTool(dedupTool).then((code) => {
  process.exitCode = code;
});
