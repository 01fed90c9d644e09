#!/usr/bin/env node
import { runTool } from '@criu-ts/cli';
import { serviceTool } from './tool.js';

process.exitCode = await runTool(serviceTool);
