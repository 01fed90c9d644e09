// Types tying image kinds to their generated message interfaces.
import type { Messages } from './generated/messages.js';
import type { ImageKind, KindName } from './kinds.js';
import type { ImageMessage } from './wire.js';

export type { Messages };

/** The interface of a message type name, or a plain record if proto/ lacks it. */
export type MessageNamed<T> = T extends keyof Messages ? Messages[T] : ImageMessage;

type KindNamed<K extends KindName> = Extract<ImageKind, { name: K }>;

/** The message type of a kind's entries (its head's type included). */
export type EntryMessage<K extends KindName> =
  | (KindNamed<K> extends { message: infer M } ? MessageNamed<M> : never)
  | (KindNamed<K> extends { head: infer H } ? MessageNamed<H> : never);
