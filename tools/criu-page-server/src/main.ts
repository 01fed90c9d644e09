#!/usr/bin/env node
process.stderr.write("criu-page-server: not implemented yet\n");
process.exitCode = 1;
