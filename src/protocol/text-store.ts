/**
 * The text protocol's storage commands (set, add, replace, append, prepend, cas)
 * and what follows their command line: the data block, read straight from the
 * request buffer when it is all there, else streamed into the allocated item as
 * bytes arrive (a 1 MiB value is never buffered twice), or swallowed after an
 * error so the connection stays in step with the client.
 *
 * Mirrors memcached 1.6.18 process_update_command / complete_nread_ascii /
 * conn_swallow: the item is allocated before its data is read; a block whose last
 * two bytes are not \r\n is `CLIENT_ERROR bad data chunk` (the old value stays);
 * a failed allocation swallows the block, and for `set` also drops the old value
 * so no stale data survives a failed overwrite.
 */
import {
  NREAD_CAS, NREAD_SET, NO_MEMORY, StoreMode, TOO_LARGE,
} from '../cache/status.js';
import { KEY_MAX_LENGTH, NIL } from '../cache/engine.js';
import { ValueCursor } from '../cache/results.js';
import { recordSet } from '../stats/report.js';
import type { ProtoConn, ServerContext } from './context.js';
import type { Words } from './text-parse.js';
import { NOT_INT32, strtol32, strtoul32, strtoullNum } from '../cache/numeric.js';
import { NOT_FOUND, STORED } from './wire.js';

const INT_MAX = 0x7fffffff;

/** Replies indexed by engine status (status.ts). */
export const STORE_REPLY: readonly Buffer[] = [
  STORED,
  Buffer.from('NOT_STORED\r\n'),
  Buffer.from('EXISTS\r\n'),
  NOT_FOUND,
  Buffer.from('SERVER_ERROR out of memory storing object\r\n'),
  Buffer.from('SERVER_ERROR object too large for cache\r\n'),
];
export const BAD_FORMAT = Buffer.from('CLIENT_ERROR bad command line format\r\n');
const BAD_CHUNK = Buffer.from('CLIENT_ERROR bad data chunk\r\n');
const NO_MEMORY_READ = Buffer.from('SERVER_ERROR Out of memory during read\r\n');

/** What the connection is doing with the bytes after a storage command line. */
const IDLE = 0;
const NREAD = 1;   // filling item `item`
const SWALLOW = 2; // discarding `left` bytes

export class TextStore {
  state = IDLE;
  private item = NIL;
  private mode: StoreMode = NREAD_SET;
  private cas = 0;
  private vlen = 0;
  /** value bytes written so far */
  private got = 0;
  /** the two bytes after the value, which must be \r\n */
  private t0 = 0;
  private t1 = 0;
  private tn = 0;
  private noreply = false;
  private left = 0;
  /** where the streamed block's last piece ended */
  private readonly cursor = new ValueCursor();

  constructor(private readonly ctx: ServerContext, private readonly conn: ProtoConn) {}

  get active(): boolean {
    return this.state !== IDLE;
  }

  /** memcached's conn state for `stats conns` */
  get connState(): string | undefined {
    return this.state === NREAD ? 'conn_nread' : this.state === SWALLOW ? 'conn_swallow' : undefined;
  }

  /**
   * A storage command line (already split into `w`, word count checked). `next`
   * is just past its \n. Returns where parsing continues: past the data block if
   * it was all there, else `end` with the rest to come through feed().
   */
  command(buf: Buffer, w: Words, mode: StoreMode, next: number, end: number): number {
    const noreply = w.noreply(buf);
    const out = this.conn.out;
    const ks = w.s[1];
    const kl = w.len(1);
    if (kl > KEY_MAX_LENGTH) return this.fail(BAD_FORMAT, noreply, next);
    const flags = strtoul32(buf, w.s[2], w.e[2]);
    const exptime = strtol32(buf, w.s[3], w.e[3]);
    const vlen = strtol32(buf, w.s[4], w.e[4]);
    if (flags < 0 || exptime === NOT_INT32 || vlen === NOT_INT32) return this.fail(BAD_FORMAT, noreply, next);
    let cas = 0;
    if (mode === NREAD_CAS) {
      cas = strtoullNum(buf, w.s[5], w.e[5]);
      if (cas < 0) return this.fail(BAD_FORMAT, noreply, next);
    }
    if (vlen < 0 || vlen > INT_MAX - 2) return this.fail(BAD_FORMAT, noreply, next);
    const ctx = this.ctx;
    const cache = ctx.cache;
    if (ctx.settings.detailEnabled) recordSet(ctx, buf, ks, kl);
    // only what is here gets memory now: a stalled upload must not hold the rest
    const h = cache.alloc(buf, ks, kl, flags, exptime, vlen, Math.min(vlen, end - next));
    if (h === NIL) {
      const tooLarge = !cache.itemSizeOk(kl, vlen);
      if (tooLarge) ctx.counters.store_too_large++;
      else ctx.counters.store_no_memory++;
      if (!noreply) out.bytes(STORE_REPLY[tooLarge ? TOO_LARGE : NO_MEMORY]);
      const logs = ctx.logs;
      if (logs !== undefined && logs.watching) logs.storeRefused(buf, ks, kl, tooLarge ? TOO_LARGE : NO_MEMORY, mode);
      // a failed overwrite must not leave the old value readable
      if (mode === NREAD_SET) cache.drop(buf, ks, kl);
      return this.swallow(vlen + 2, next, end);
    }
    const total = vlen + 2;
    if (end - next >= total) {
      // the whole block is here: no state to keep
      const te = next + vlen;
      if (buf[te] !== 0x0d || buf[te + 1] !== 0x0a) {
        cache.release(h);
        if (!noreply) out.bytes(BAD_CHUNK);
        return next + total;
      }
      cache.writeValue(h, 0, buf, next, te);
      const st = cache.store(h, mode, cas);
      if (!noreply) out.bytes(STORE_REPLY[st]);
      return next + total;
    }
    this.state = NREAD;
    this.item = h;
    this.mode = mode;
    this.cas = cas;
    this.vlen = vlen;
    this.got = 0;
    this.tn = 0;
    this.noreply = noreply;
    return this.feed(buf, next, end);
  }

  /** Takes bytes for the block in progress; returns where parsing continues. */
  feed(buf: Buffer, pos: number, end: number): number {
    if (this.state === SWALLOW) {
      const n = Math.min(this.left, end - pos);
      this.left -= n;
      if (this.left === 0) this.state = IDLE;
      return pos + n;
    }
    const cache = this.ctx.cache;
    if (this.got < this.vlen) {
      const n = Math.min(this.vlen - this.got, end - pos);
      if (!cache.writeValue(this.item, this.got, buf, pos, pos + n, this.cursor)) {
        // memcached's conn_nread when a chunk can't be had: answer, drop the rest
        cache.release(this.item);
        this.item = NIL;
        this.ctx.counters.store_no_memory++;
        if (!this.noreply) this.conn.out.bytes(NO_MEMORY_READ);
        this.state = IDLE;
        return this.swallow(this.vlen - this.got - n + 2, pos + n, end);
      }
      this.got += n;
      pos += n;
    }
    while (this.got === this.vlen && this.tn < 2 && pos < end) {
      if (this.tn === 0) this.t0 = buf[pos];
      else this.t1 = buf[pos];
      this.tn++;
      pos++;
    }
    if (this.tn < 2) return pos;
    const h = this.item;
    this.item = NIL;
    this.state = IDLE;
    const out = this.conn.out;
    if (this.t0 !== 0x0d || this.t1 !== 0x0a) {
      cache.release(h);
      if (!this.noreply) out.bytes(BAD_CHUNK);
      return pos;
    }
    const st = cache.store(h, this.mode, this.cas);
    if (!this.noreply) out.bytes(STORE_REPLY[st]);
    return pos;
  }

  /** Discards `n` bytes of data block, starting at pos. */
  private swallow(n: number, pos: number, end: number): number {
    const k = Math.min(n, end - pos);
    if (k === n) return pos + n;
    this.state = SWALLOW;
    this.left = n - k;
    return end;
  }

  private fail(reply: Buffer, noreply: boolean, next: number): number {
    if (!noreply) this.conn.out.bytes(reply);
    return next;
  }

  /** The connection went away mid-block: free the half-filled item. */
  closed(): void {
    if (this.state === NREAD && this.item !== NIL) this.ctx.cache.release(this.item);
    this.item = NIL;
    this.state = IDLE;
  }
}
