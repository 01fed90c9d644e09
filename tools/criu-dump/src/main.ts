#!/usr/bin/env node
process.stderr.write("criu-dump: not implemented yet\n");
process.exitCode = 1;
