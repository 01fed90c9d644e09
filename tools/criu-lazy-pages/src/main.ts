#!/usr/bin/env node
import { runTool } from '@criu-ts/cli';
import { lazyPagesTool } from './tool.js';

void runTool(lazyPagesTool).then((code) => {
  process.exitCode = code;
});
