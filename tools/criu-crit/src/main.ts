#!/usr/bin/env node
process.stderr.write("criu-crit: not implemented yet\n");
process.exitCode = 1;
