#!/usr/bin/env node
import { runTool } from '@criu-ts/cli';
import { serviceTool } from './tool.js';

void runTool(serviceTool).then((code) => {
  process.exitCode = code;
});
