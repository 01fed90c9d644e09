#!/usr/bin/env node
import { runTool } from '@criu-ts/cli';
import { cpuinfoTool } from './tool.js';

void runTool(cpuinfoTool).then((code) => {
  process.exitCode = code;
});
