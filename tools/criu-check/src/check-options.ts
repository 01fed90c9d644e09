// Options of `criu check` (criu(8) "check").
import { flag, list, type OptionValues } from '@criu-ts/cli';

export const checkOptions = {
  extra: flag('also check category 2 features (needed only in specific cases)'),
  experimental: flag('also check category 3 (experimental) features'),
  all: flag('check categories 1, 2 and 3'),
  feature: list("check only this feature; 'list' prints the feature names", { argName: 'NAME' }),
} as const;

export type CheckOptions = OptionValues<typeof checkOptions>;
