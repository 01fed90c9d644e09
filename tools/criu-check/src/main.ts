#!/usr/bin/env node
process.stderr.write("criu-check: not implemented yet\n");
process.exitCode = 1;
