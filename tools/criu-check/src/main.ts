#!/usr/bin/env node
import { runTool } from '@criu-ts/cli';
import { checkTool } from './tool.js';

process.exitCode = await runTool(checkTool);
