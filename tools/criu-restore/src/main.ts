#!/usr/bin/env node
import { runTool } from '@criu-ts/cli';
import { restoreTool } from './tool.js';

void runTool(restoreTool).then((code) => {
  process.exitCode = code;
});
