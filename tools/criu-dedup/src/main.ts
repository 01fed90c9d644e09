#!/usr/bin/env node
process.stderr.write("criu-dedup: not implemented yet\n");
process.exitCode = 1;
