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
import { MetaFlags } from './meta-flags.js';
import { ERROR } from './wire.js';
import { metaDebug, metaGet } from './meta-get.js';
import { metaSet } from './meta-set.js';
import { metaDelete } from './meta-delete.js';
import { metaArith } from './meta-arith.js';
import { NIL } from '../cache/engine.js';
import { ArithResult } from '../cache/arith.js';
import { StoreResult, ValueCursor } from '../cache/results.js';
import { Words } from './text-parse.js';

const MN = Buffer.from('MN\r\n');
const NO_MEMORY_READ = Buffer.from('SERVER_ERROR Out of memory during read\r\n');

/**
 * Scratch refilled for every line, shared by all connections: a line is handled
 * start to end before another connection's is, and what must outlive a line (a
 * streamed ms) is kept per connection below. An idle connection then costs only
 * its own state, as memcached's does.
 */
const sharedFlags = new MetaFlags();
const sharedStored = new StoreResult();
const sharedArith = new ArithResult();
/** pendLine until a streamed ms needs it: an empty Buffer is still a 96-byte object */
const NO_LINE = Buffer.alloc(0);

export class MetaCommands {
  /** scratch refilled for every line (shared, see above): nothing allocated per request */
  readonly flags = sharedFlags;
  /** what ms and ma get back from the engine besides a status */
  readonly stored = sharedStored;
  readonly arithRes = sharedArith;
  /** where the streamed ms block's last piece ended; made for each streamed block */
  private cursor: ValueCursor | null = null;
  /** bytes of a rejected ms data block still to discard (streaming callers only) */
  private swallowLeft = 0;
  /**
   * A large ms being streamed into its item (streaming callers only): the item,
   * value bytes written so far, its length, how many of the closing \r\n have been
   * seen, whether they were wrong, and a copy of the command line to answer from.
   */
  pendItem = NIL;
  private pendOff = 0;
  private pendLen = 0;
  private pendCrlf = 0;
  pendBadChunk = false;
  private pendLine: Buffer = NO_LINE;
  private pendLineLen = 0;
  /** where handle() found the current line, for beginStream() */
  private lineStart = 0;
  private lineEol = 0;

  /**
   * `streaming`: the caller checks `active` and hands the bytes after a handled
   * line to feed() while it is true. Then an ms rejected before its data block
   * has arrived (bad flags, a size past -I) is answered at once and its block
   * discarded as it comes, as memcached's conn_swallow does, instead of being
   * buffered whole. Without it such an ms waits (-1) for the whole block.
   * `line`: the words of the current line; the text protocol passes its own, so
   * that a line it has split is not split again (see dispatch()).
   */
  constructor(readonly ctx: ServerContext, readonly conn: ProtoConn, readonly streaming = false,
    readonly line = new Words()) {}

  /** A data block is being streamed or discarded: bytes go to feed(), not handle(). */
  get active(): boolean {
    return this.swallowLeft > 0 || this.pendItem !== NIL;
  }

  /** Takes bytes of the block in progress; returns where parsing resumes. */
  feed(buf: Buffer, pos: number, end: number): number {
    if (this.pendItem !== NIL) return this.feedPending(buf, pos, end);
    const n = Math.min(this.swallowLeft, end - pos);
    this.swallowLeft -= n;
    return pos + n;
  }

  /**
   * Starts streaming a large ms block into its item instead of buffering it whole,
   * so a client can hold no more than a line outside -m (memcached allocates the
   * item first too). Returns where parsing resumes, or -1 to wait as for a small
   * block (the item could not be had: the whole-block path then answers the error).
   */
  beginStream(buf: Buffer, next: number, end: number, vlen: number): number {
    const of = this.flags;
    const cache = this.ctx.cache;
    // only what is here gets memory now: a stalled upload must not hold the rest
    const h = cache.alloc(of.keyBuf, of.keyStart, of.keyLen, of.clientFlags, 0, vlen, Math.min(vlen, end - next));
    if (h === NIL) return -1;
    const n = this.lineEol - this.lineStart;
    if (this.pendLine.length < n) this.pendLine = Buffer.allocUnsafe(Math.max(n, 256));
    buf.copy(this.pendLine, 0, this.lineStart, this.lineEol);
    this.pendLineLen = n;
    this.cursor = new ValueCursor();
    this.pendItem = h;
    this.pendOff = 0;
    this.pendLen = vlen;
    this.pendCrlf = 0;
    this.pendBadChunk = false;
    return this.feedPending(buf, next, end);
  }

  private feedPending(buf: Buffer, pos: number, end: number): number {
    const cache = this.ctx.cache;
    const h = this.pendItem;
    if (this.pendOff < this.pendLen) {
      const n = Math.min(end - pos, this.pendLen - this.pendOff);
      if (!cache.writeValue(h, this.pendOff, buf, pos, pos + n, this.cursor!)) {
        // memcached's conn_nread when a chunk can't be had: answer, drop the rest
        cache.release(h);
        this.endStream();
        this.ctx.counters.store_no_memory++;
        this.conn.out.bytes(NO_MEMORY_READ);
        return this.swallow(pos + (this.pendLen - this.pendOff) + 2, end);
      }
      this.pendOff += n;
      pos += n;
    }
    while (this.pendOff === this.pendLen && this.pendCrlf < 2 && pos < end) {
      if (buf[pos++] !== (this.pendCrlf === 0 ? 0x0d : 0x0a)) this.pendBadChunk = true;
      this.pendCrlf++;
    }
    if (this.pendCrlf === 2) {
      // the block is in: answer from the saved line as if it had all come at once
      const line = this.pendLine;
      const len = this.pendLineLen;
      this.line.split(line, 0, len);
      metaSet(this, len, len + this.pendLen + 2);
      this.endStream();
    }
    return pos;
  }

  /** A streamed block is over: what it needed goes, so that an idle connection keeps none of it. */
  private endStream(): void {
    this.pendItem = NIL;
    this.cursor = null;
    this.pendLine = NO_LINE;
  }

  /** The connection closed: a half-streamed item is dropped. */
  closed(): void {
    if (this.pendItem !== NIL) this.ctx.cache.release(this.pendItem);
    this.endStream();
    this.swallowLeft = 0;
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
    this.line.split(buf, start, eol);
    return this.dispatch(start, eol, next, end);
  }

  /** As handle(), for a line buf[start, eol) already split into `line`. */
  dispatch(start: number, eol: number, next: number, end: number): number {
    const line = this.line;
    const buf = line.buf;
    this.lineStart = start;
    this.lineEol = eol;
    const out = this.conn.out;
    if (line.n === 0 || line.len(0) !== 2 || buf[line.s[0]] !== 0x6d) {
      out.bytes(ERROR);
      return next;
    }
    switch (buf[line.s[0] + 1]) {
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
