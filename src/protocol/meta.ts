/**
 * memcached's meta commands (doc/protocol.txt "Meta Commands"): mg, ms, md, ma,
 * mn, me. The text protocol hands every line whose first word is a two-letter
 * `m?` here; replies go into the connection's output batch.
 *
 * Each command lives in its own file (meta-get.ts: mg and me; meta-set.ts: ms;
 * meta-delete.ts: md; meta-arith.ts: ma); flags and tokens are parsed by
 * meta-flags.ts and the engine-side rules (stale items, win tokens, vivify) are
 * in cache/meta-ops.ts. Byte-for-byte behaviour, errors included, follows
 * memcached 1.6.18; flags that came later (E everywhere, md x, ms s and N) follow
 * the current protocol.txt.
 */
import type { ProtoConn, ServerContext } from './context.js';
import { ERROR, MetaFlags, MetaLine } from './meta-flags.js';
import { metaDebug, metaGet } from './meta-get.js';
import { metaSet } from './meta-set.js';
import { metaDelete } from './meta-delete.js';
import { metaArith } from './meta-arith.js';
import { MetaStore } from '../cache/meta-ops.js';

const MN = Buffer.from('MN\r\n');

export class MetaCommands {
  /** per-connection scratch, refilled for every line: nothing allocated per request */
  readonly line = new MetaLine();
  readonly flags = new MetaFlags();
  readonly store: MetaStore;
  /** bytes of a rejected ms data block still to discard (streaming callers only) */
  private swallowLeft = 0;

  /**
   * `streaming`: the caller checks `active` and hands the bytes after a handled
   * line to feed() while it is true. Then an ms rejected before its data block
   * has arrived (bad flags, a size past -I) is answered at once and its block
   * discarded as it comes, as memcached's conn_swallow does, instead of being
   * buffered whole. Without it such an ms waits (-1) for the whole block.
   */
  constructor(readonly ctx: ServerContext, readonly conn: ProtoConn, readonly streaming = false) {
    this.store = new MetaStore(ctx.cache);
  }

  /** A rejected data block is being discarded: bytes go to feed(), not handle(). */
  get active(): boolean {
    return this.swallowLeft > 0;
  }

  /** Discards what is left of a rejected data block; returns where parsing resumes. */
  feed(_buf: Buffer, pos: number, end: number): number {
    const n = Math.min(this.swallowLeft, end - pos);
    this.swallowLeft -= n;
    return pos + n;
  }

  /** Consumes a rejected block up to dataEnd: now if it is all here, else as it comes. */
  swallow(dataEnd: number, end: number): number {
    if (dataEnd <= end) return dataEnd;
    this.swallowLeft = dataEnd - end;
    return end;
  }

  /**
   * Handles the meta line buf[start, eol) (`next` is just past its \n, `end` the
   * end of the bytes read so far). Returns the index just past everything
   * consumed, or -1 when an `ms` data block has not fully arrived: nothing has
   * been done or replied then, and the caller calls again with the same line.
   */
  handle(buf: Buffer, start: number, eol: number, next: number, end: number): number {
    const line = this.line;
    line.tokenize(buf, start, eol);
    const out = this.conn.out;
    if (line.words === 0 || line.len(0) !== 2 || buf[line.ts[0]] !== 0x6d) {
      out.bytes(ERROR);
      return next;
    }
    switch (buf[line.ts[0] + 1]) {
      case 0x67: // mg
        metaGet(this);
        return next;
      case 0x73: // ms
        return metaSet(this, next, end);
      case 0x64: // md
        metaDelete(this);
        return next;
      case 0x61: // ma
        metaArith(this);
        return next;
      case 0x6e: // mn: ends a quiet batch; takes and ignores any arguments
        out.bytes(MN);
        return next;
      case 0x65: // me
        metaDebug(this);
        return next;
      default:
        out.bytes(ERROR);
        return next;
    }
  }
}
