#!/usr/bin/env node
import { runTool } from '@criu-ts/cli';
import { pageServerTool } from './tool.js';

process.exitCode = await runTool(pageServerTool);
