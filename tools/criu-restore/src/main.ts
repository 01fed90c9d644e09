#!/usr/bin/env node
import { runTool } from '@criu-ts/cli';
import { restoreTool } from './tool.js';

process.exitCode = await runTool(restoreTool);
