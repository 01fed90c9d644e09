#!/usr/bin/env node
import { runTool } from '@criu-ts/cli';
import { dumpTool } from './tool.js';

process.exitCode = await runTool(dumpTool);
