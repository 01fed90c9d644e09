// The options criu-dump takes: criu(8)'s dump options, with --stream
// meaning ours (the issue's): the checkpoint as one tar stream on stdout,
// or into the file or fd these two options name (criu(8) has no such
// option: its --stream talks to criu-image-streamer over a socket).
import { dumpOptions, flag, int, statusFdOption, text } from '@criu-ts/cli';

export const streamTargetOptions = {
  stream: flag('write the whole checkpoint as one stream (a tar of the images) to stdout, or to --stream-file / --stream-fd; no images directory is used'),
  'stream-file': text('with --stream: write the stream to FILE (created, mode 0600) instead of stdout', { argName: 'FILE' }),
  'stream-fd': int('with --stream: write the stream to this open fd instead of stdout', { argName: 'FD', min: 0 }),
} as const;

export const dumpToolOptions = {
  ...dumpOptions,
  ...streamTargetOptions,
  // dump --lazy-pages: '\0' once the lazy pages are being served
  ...statusFdOption,
} as const;
