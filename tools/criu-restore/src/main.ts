#!/usr/bin/env node
process.stderr.write("criu-restore: not implemented yet\n");
process.exitCode = 1;
