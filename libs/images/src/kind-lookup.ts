// Finding image kinds: by our name, by magic, and naming their files.
import { CriuError } from '@criu-ts/base';
import { imageKinds, type ImageKind, type ImageKindSpec, type KindName } from './kinds.js';
import { prepareWireType, wireType, type WireType } from './wire-types.js';

const byName = new Map<string, ImageKindSpec>(imageKinds.map((kind) => [kind.name, kind]));

/** The kind of that name ('core', 'pagemap', ...); a kind spec is returned as is. */
export function imageKind(kind: KindName | ImageKindSpec): ImageKindSpec {
  if (typeof kind !== 'string') return kind;
  const found = byName.get(kind);
  if (found === undefined) throw new CriuError(`unknown image kind ${String(kind)}`, { code: 'EINVAL' });
  return found;
}

/** The first kind (in table order) with that magic; raw images (magic 0) are not found. */
export function kindByMagic(magic: number): ImageKindSpec | undefined {
  if (magic === 0) return undefined;
  return imageKinds.find((kind: ImageKind) => kind.magic === magic);
}

/** The first kind with crit's magic name ('CORE', 'PAGEMAP', ...). */
export function kindByMagicName(magicName: string): ImageKindSpec | undefined {
  return imageKinds.find((kind: ImageKind) => kind.magicName === magicName && kind.header !== 'none');
}

/** The image's file name: the kind's pattern with its id filled in, e.g. core-42.img. */
export function imageFileName(kind: KindName | ImageKindSpec, id?: number | bigint | string): string {
  const spec = imageKind(kind);
  return spec.file.replace(/%l?[udxs]/, (conversion) => {
    if (id === undefined) throw new CriuError(`image ${spec.name} needs an id for ${spec.file}`, { code: 'EINVAL' });
    return conversion.endsWith('x') ? BigInt(id).toString(16) : String(id);
  });
}

function patternOf(file: string): RegExp {
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const id = escaped.replace(/%l?[ud]/, '\\d+').replace(/%l?x/, '[0-9a-f]+').replace(/%s/, '[A-Za-z0-9_.-]+');
  return new RegExp(`^${id}$`);
}

const filePatterns: readonly [RegExp, ImageKindSpec][] = imageKinds.map((kind) => [patternOf(kind.file), kind]);

/** The kind whose file-name pattern `name` fits ('core-42.img' → core, 'stats-dump' → stats), if any. */
export function kindOfFileName(name: string): ImageKindSpec | undefined {
  return filePatterns.find(([pattern]) => pattern.test(name))?.[1];
}

/**
 * Make the codec's descriptors of these image kinds' entries now (they are
 * otherwise made on first use): a dump does it before it freezes the tree.
 */
export function prepareImageKinds(kinds: Iterable<KindName | ImageKindSpec>): void {
  const done = new Set<WireType>();
  for (const kind of kinds) {
    const spec = imageKind(kind);
    for (const name of [spec.message, spec.head]) if (name !== undefined) prepareWireType(wireType(name), done);
  }
}
