#!/usr/bin/env node
import { runTool } from '@criu-ts/cli';
import { dedupTool } from './tool.js';

process.exitCode = await runTool(dedupTool);
