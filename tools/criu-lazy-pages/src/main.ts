#!/usr/bin/env node
import { runTool } from '@criu-ts/cli';
import { lazyPagesTool } from './tool.js';

process.exitCode = await runTool(lazyPagesTool);
