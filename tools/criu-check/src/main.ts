#!/usr/bin/env node
import { runTool } from '@criu-ts/cli';
import { checkTool } from './tool.js';

void runTool(checkTool).then((code) => {
  process.exitCode = code;
});
