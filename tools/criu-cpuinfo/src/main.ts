#!/usr/bin/env node
import { runTool } from '@criu-ts/cli';
import { cpuinfoTool } from './tool.js';

process.exitCode = await runTool(cpuinfoTool);
