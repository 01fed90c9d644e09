#!/usr/bin/env node
process.stderr.write("criu-cpuinfo: not implemented yet\n");
process.exitCode = 1;
