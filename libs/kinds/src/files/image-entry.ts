// Typed writes into the dump's shared images: the generated message
// interfaces are checked here, at the one place they meet the writer's
// untyped entry input.
import type { EntryInput, EntryMessage, KindName, PayloadSlot } from '@criu-ts/images';
import type { DumpContext } from '../dump-context.js';

export function writeShared<K extends KindName>(
  ctx: DumpContext,
  kind: K,
  input: EntryInput<EntryMessage<K>>,
  id?: number,
): PayloadSlot | undefined {
  return ctx.image(kind, id).write(input as unknown as EntryInput);
}
