#!/usr/bin/env node
import { runTool } from '@criu-ts/cli';
import { pageServerTool } from './tool.js';

void runTool(pageServerTool).then((code) => {
  process.exitCode = code;
});
