#!/usr/bin/env node
process.stderr.write("criu: not implemented yet\n");
process.exitCode = 1;
