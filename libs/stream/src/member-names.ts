// Which member names an image stream may carry: flat image file names only
// (core-42.img, pages-1.img, tmpfs-dev-5.tar.gz.img, ...). No absolute
// paths, no directories, no '..', nothing a shell or the file system would
// treat specially — a stream is untrusted input that lands in a directory.

/** The longest member name we accept (NAME_MAX). */
export const MAX_MEMBER_NAME = 255;

const IMAGE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;

/** The reason `name` is not a valid member name, or undefined if it is. */
export function memberNameProblem(name: string): string | undefined {
  if (name === '') return 'empty member name';
  if (Buffer.byteLength(name, 'utf8') > MAX_MEMBER_NAME) return `member name longer than ${MAX_MEMBER_NAME} bytes`;
  if (name.startsWith('/')) return `absolute member name '${name}'`;
  if (name.split('/').includes('..')) return `member name '${name}' climbs out with '..'`;
  if (name.includes('/')) return `member name '${name}' is not a flat image name`;
  if (!IMAGE_NAME.test(name)) return `member name '${name}' has characters an image name never has`;
  return undefined;
}

/** A name as GNU tar writes it for `tar -C DIR -c .`: './core-1.img' → 'core-1.img'; '.' and './' → ''. */
export function stripDotSlash(name: string): string {
  let stripped = name;
  while (stripped.startsWith('./')) stripped = stripped.slice(2);
  return stripped === '.' ? '' : stripped;
}
