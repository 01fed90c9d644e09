// Paths inside the workspace. Tests call our binaries by their path here,
// never whatever `criu` comes first on PATH (Debian's criu package puts a
// non-working one in /usr/sbin).
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const workspaceRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The built entry point of tools/NAME, e.g. toolPath('criu-dump'). */
export function toolPath(name: string): string {
  return join(workspaceRoot, 'tools', name, 'dist', 'main.cjs');
}

export const fixturesDir = join(workspaceRoot, 'e2e', 'fixtures');
