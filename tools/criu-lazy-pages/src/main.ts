#!/usr/bin/env node
process.stderr.write("criu-lazy-pages: not implemented yet\n");
process.exitCode = 1;
