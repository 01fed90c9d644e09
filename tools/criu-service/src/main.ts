#!/usr/bin/env node
process.stderr.write("criu-service: not implemented yet\n");
process.exitCode = 1;
