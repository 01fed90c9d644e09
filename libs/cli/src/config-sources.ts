// Which config files apply, in order, as criu does it (criu/config.c):
//   /etc/criu/default.conf, $HOME/.criu/default.conf  — unless --no-default-config
//                                                        or --config FILE is given
//   $CRIU_CONFIG_FILE                                  — always, when set
//   --config FILE                                      — when given
// then the command line. Later sources win.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError, errnoOf } from '@criu-ts/base';
import { parseConfigText, type ConfigLine } from './config-file.js';

export const GLOBAL_CONFIG_PATH = '/etc/criu/default.conf';

export interface ConfigSourceOptions {
  /** default GLOBAL_CONFIG_PATH; tests point it elsewhere */
  globalPath?: string;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** --config FILE from the command line */
  configFile: string | undefined;
  /** --no-default-config on the command line */
  noDefaultConfig: boolean;
}

/** A config file to read: a default one may be missing, the --config one must exist. */
export interface ConfigSource {
  path: string;
  kind: 'default' | 'env' | 'option';
}

export function configSources(options: ConfigSourceOptions): ConfigSource[] {
  const sources: ConfigSource[] = [];
  const skipDefaults = options.noDefaultConfig || options.configFile !== undefined;
  const home = options.env.HOME;
  if (!skipDefaults) {
    sources.push({ path: options.globalPath ?? GLOBAL_CONFIG_PATH, kind: 'default' });
    if (home !== undefined && home !== '') sources.push({ path: join(home, '.criu', 'default.conf'), kind: 'default' });
  }
  const fromEnv = options.env.CRIU_CONFIG_FILE;
  if (fromEnv !== undefined && fromEnv !== '') sources.push({ path: resolve(options.cwd, fromEnv), kind: 'env' });
  if (options.configFile !== undefined) sources.push({ path: resolve(options.cwd, options.configFile), kind: 'option' });
  return sources;
}

/** Read and parse the sources in order; a missing default file is skipped quietly, a missing $CRIU_CONFIG_FILE with a note. */
export function readConfigSources(sources: readonly ConfigSource[]): { lines: ConfigLine[]; notes: string[] } {
  const lines: ConfigLine[] = [];
  const notes: string[] = [];
  for (const source of sources) {
    let text: string;
    try {
      text = readFileSync(source.path, 'utf8');
    } catch (error) {
      const code = errnoOf(error);
      if (code === undefined) throw error;
      if (source.kind === 'option') throw new UsageError(`cannot read config file ${source.path}: ${code}`, { cause: error });
      if (code !== 'ENOENT' || source.kind !== 'default') notes.push(`config file ${source.path} not read: ${code}`);
      continue;
    }
    lines.push(...parseConfigText(text, source.path));
  }
  return { lines, notes };
}
