// Build step of @criu-ts/images: proto/*.proto → src/generated/{schema,messages,wire-table}.ts.
// Usage: node codegen/dist/main.js PROTO_DIR OUT_DIR
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleJson, listProtos, loadProtos } from './load-protos.js';
import { emitTypes } from './emit-types.js';
import { emitWireTable } from './emit-wire-table.js';

function generate(protoDir: string, outDir: string): void {
  const root = loadProtos(protoDir);
  mkdirSync(outDir, { recursive: true });
  const schema = JSON.stringify(bundleJson(root));
  writeFileSync(
    join(outDir, 'schema.ts'),
    '// Generated from proto/*.proto by codegen/ at build time. Do not edit.\n' +
      '/** The protobufjs JSON bundle of every image schema: crit\'s JSON path builds its reflection from it. */\n' +
      `export const schemaJson: string = ${JSON.stringify(schema)};\n`,
  );
  writeFileSync(join(outDir, 'messages.ts'), emitTypes(root));
  writeFileSync(join(outDir, 'wire-table.ts'), emitWireTable(root));
  process.stdout.write(`images codegen: ${listProtos(protoDir).length} proto files → ${outDir}\n`);
}

const [protoDir, outDir] = process.argv.slice(2);
if (protoDir === undefined || outDir === undefined) {
  process.stderr.write('usage: main.js PROTO_DIR OUT_DIR\n');
  process.exitCode = 1;
} else {
  generate(protoDir, outDir);
}
