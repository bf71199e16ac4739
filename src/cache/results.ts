/**
 * What an engine call hands back beyond its status, in objects the caller owns
 * and passes in: one per connection, reused, so a request allocates nothing and
 * no engine field carries one call's answer to the next caller.
 */
import { NIL } from './memory.js';

/** The item a store (or incr/decr) left linked under the key; NIL when none. */
export class StoreResult {
  item = NIL;
}

/**
 * Where the last write into one chained value ended, so that a value streamed in
 * piece by piece does not walk its chain from the head for every read. Each
 * upload in progress has its own: the protocol keeps one per connection.
 *
 * A cursor left over from an earlier upload whose head was freed and handed out
 * again is never followed into the old chain: uploads write their value in order
 * from offset 0, and at offset 0 the only part a cursor can name is the head.
 */
export class ValueCursor {
  /** the head of the value last written, NIL for none */
  item = NIL;
  /** the part (head or continuation chunk) that write ended in */
  part = NIL;
  /** value offset where that part begins */
  partStart = 0;
}
