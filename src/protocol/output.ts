/**
 * A connection's output batch: every reply produced while handling one read goes
 * here, and the server writes it with one write (or one corked burst when large
 * values ride along as views of the arena).
 *
 * Bytes are written into fixed-size chunks from the shared pool (output-pool.ts):
 * when a reply does not fit in what is left of a chunk, the filled part is queued
 * and the next chunk taken, so a batch never grows by copying itself. A chunk is
 * used on across batches until it is full, then handed back with the flush whose
 * write last used it; when everything written has left the process the
 * connection gives its chunk back too (idle()), so an idle connection holds none.
 *
 * Small values are copied in. Values of at least PIN_MIN bytes are not copied: the
 * item is pinned (engine refcount) and a view of its arena bytes is queued; the
 * server unpins once the socket has written them, so an overwrite or eviction in
 * the meantime cannot change bytes the kernel has not taken yet.
 *
 * The writing itself (bytes, decimals, text) is the one ByteWriter's; this class
 * only changes where its room comes from (reserve()).
 *
 * NOTE: code that rewinds (`out.len = mark`) takes its mark with mark(), which
 * keeps MARK_ROOM bytes in the current chunk, and writes less than that before
 * rewinding: a mark does not survive a change of chunk.
 */
import type { Cache } from '../cache/engine.js';
import { ByteWriter } from '../cache/byte-writer.js';
import { putDecimal } from '../cache/numeric.js';
import { CHUNK_SIZE, type Chunk, giveChunk, takeChunk } from './output-pool.js';
import { CRLF } from './wire.js';

/** Values this large are written from the arena instead of copied. */
export const PIN_MIN = 16 * 1024;
/** Room mark() keeps: more than any meta reply header written before a rewind. */
const MARK_ROOM = 4096;
const EMPTY = Buffer.alloc(0);
/**
 * What parts, pins and spent hold until first used: an idle connection keeps no
 * arrays of its own (a thousand idle connections, 96 KB). Frozen, so a push that
 * forgot to make its own array throws instead of writing into every connection's.
 */
const NO_BUFFERS: Buffer[] = Object.freeze([]) as unknown as Buffer[];
const NO_PINS: number[] = Object.freeze([]) as unknown as number[];
const NO_CHUNKS: Chunk[] = Object.freeze([]) as unknown as Chunk[];

/** What one flush handed to the socket and must outlive its write. */
export interface Sent {
  /** chunks filled by this batch, for the pool once written */
  chunks: Chunk[];
  /** items pinned by arena views in this batch */
  pins: number[];
}

export class Output extends ByteWriter {
  /** buffers queued before buf[sealed, len): chunk slices and arena views */
  parts: Buffer[] = NO_BUFFERS;
  /** items pinned by the queued parts, to unpin once written */
  pins: number[] = NO_PINS;
  /** the chunk buf is, null while buf is EMPTY */
  private chunk: Chunk | null = null;
  /** chunks filled in this batch (their bytes are in parts) */
  private spent: Chunk[] = NO_CHUNKS;
  /** bytes in parts, and how many of them are arena views */
  private queued = 0;
  private viewed = 0;
  private sealed = 0;
  /** pending bytes and pins at the last commit() of this batch */
  private committedBytes = 0;
  private committedPins = 0;
  /**
   * Where response units start, as offsets into this batch's bytes, on a
   * connection that frames replies by unit (UDP: memcached sends each command's
   * reply, and each key of a get, as its own framed message); null elsewhere.
   * The reader clears it after each flush.
   */
  units: number[] | null = null;

  /**
   * `limit`: the batch counts as full() past this many bytes, and protocols stop
   * taking requests until it is written (the connection's -o max_output_bytes).
   */
  constructor(private readonly cache: Cache, private readonly limit = Infinity) {
    super(0);
    // no chunk until the first reply (EMPTY until then)
    this.buf = EMPTY;
  }

  /** A new response unit starts here (memcached's resp_start()); no-op unless `units`. */
  unit(): void {
    if (this.units !== null) this.units.push(this.pending);
  }

  /** Where this batch's bytes start in buf: what is before it may be in the socket's hands. */
  get batchStart(): number {
    return this.sealed;
  }

  /** Bytes waiting in this batch. */
  get pending(): number {
    return this.queued + this.len - this.sealed;
  }

  /**
   * The batch holds as many copied bytes as one client may have waiting: take no
   * more requests. Arena views of large values cost no memory of ours, and a reply
   * made of them is left whole (a graceful stop sends what was asked in full).
   */
  get full(): boolean {
    return this.queued - this.viewed + this.len - this.sealed >= this.limit;
  }

  isEmpty(): boolean {
    return this.len === this.sealed && this.parts.length === 0;
  }

  /** Room for n more bytes: past the chunk's end, the filled part is queued and a new chunk taken. */
  override reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    this.seal();
    const old = this.chunk;
    // a chunk nothing was written to goes straight back; a used one is spent
    // once the write of its last bytes completes
    if (old !== null) {
      if (this.len > 0) {
        if (this.spent === NO_CHUNKS) this.spent = [];
        this.spent.push(old);
      }
      else giveChunk(old);
    }
    const c = takeChunk(n);
    this.chunk = c;
    this.buf = c.buf;
    this.len = 0;
    this.sealed = 0;
  }

  /** out.len now, with room to write up to MARK_ROOM bytes and rewind to it. */
  mark(): number {
    this.reserve(MARK_ROOM);
    return this.len;
  }

  /**
   * `VALUE <key> <flags> <bytes>[ <cas>]\r\n` (cas < 0: none) in one reservation: a
   * multiget writes one per key, and a call per token took 310 ns a line against 190.
   */
  valueLine(key: Uint8Array, ks: number, ke: number, flags: number, nbytes: number, cas: number): void {
    const kl = ke - ks;
    this.reserve(6 + kl + 3 * 21 + 2);
    const b = this.buf;
    let p = this.len;
    b[p] = 0x56; b[p + 1] = 0x41; b[p + 2] = 0x4c; b[p + 3] = 0x55; b[p + 4] = 0x45; b[p + 5] = 0x20;
    p += 6;
    // four bytes a turn: a turn's loop overhead costs about as much as a byte's copy
    let i = 0;
    for (; i + 4 <= kl; i += 4) {
      b[p + i] = key[ks + i];
      b[p + i + 1] = key[ks + i + 1];
      b[p + i + 2] = key[ks + i + 2];
      b[p + i + 3] = key[ks + i + 3];
    }
    for (; i < kl; i++) b[p + i] = key[ks + i];
    p += kl;
    b[p++] = 0x20;
    p = putDecimal(b, p, flags);
    b[p++] = 0x20;
    p = putDecimal(b, p, nbytes);
    if (cas >= 0) {
      b[p++] = 0x20;
      p = putDecimal(b, p, cas);
    }
    b[p] = 0x0d;
    b[p + 1] = 0x0a;
    this.len = p + 2;
  }

  /**
   * A get's whole hit, `VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n` (cas < 0:
   * none), with one reservation when the value is copied: a multiget writes one per
   * key, and a reserve() apiece for the line, the value and the CRLF cost more than
   * the line's bytes. A value of PIN_MIN bytes or more goes out as arena views (value()),
   * and one that does not fit a chunk with its line is written as value() writes it.
   */
  hit(key: Uint8Array, ks: number, ke: number, h: number, cas: number): void {
    const cache = this.cache;
    const n = cache.valueLength(h);
    const need = 6 + (ke - ks) + 3 * 21 + 2 + n + 2;
    // past a chunk, one reservation would take a one-off buffer: the line and the
    // value then go in turn, as any reply does
    if (n >= PIN_MIN || need > CHUNK_SIZE) {
      this.valueLine(key, ks, ke, cache.flags(h), n, cas);
      this.value(h);
      this.range(CRLF, 0, 2);
      return;
    }
    this.reserve(need);
    this.valueLine(key, ks, ke, cache.flags(h), n, cas);
    const b = this.buf;
    const p = this.len + cache.copyValue(h, b, this.len);
    b[p] = 0x0d;
    b[p + 1] = 0x0a;
    this.len = p + 2;
  }

  /** `END\r\n`, stored byte by byte: every get line ends with it. */
  end(): void {
    this.reserve(5);
    const b = this.buf;
    const p = this.len;
    b[p] = 0x45; b[p + 1] = 0x4e; b[p + 2] = 0x44; b[p + 3] = 0x0d; b[p + 4] = 0x0a;
    this.len = p + 5;
  }

  u16(v: number): void {
    this.reserve(2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
  }

  /** Byte stores: writeUInt32BE is a generic property load, a call and a range check. */
  u32(v: number): void {
    this.reserve(4);
    const b = this.buf;
    const p = this.len;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.len = p + 4;
  }

  /** The value of item h: copied if small, else pinned and queued as arena views. */
  value(h: number): void {
    const cache = this.cache;
    const n = cache.valueLength(h);
    if (n < PIN_MIN || !cache.pin(h)) {
      this.reserve(n);
      this.len += cache.copyValue(h, this.buf, this.len);
      return;
    }
    this.seal();
    if (this.parts === NO_BUFFERS) this.parts = [];
    for (let p = cache.valuePartFirst(h); p !== 0; p = cache.valuePartNext(h, p)) {
      const u8 = cache.partU8(p);
      const s = cache.partStart(h, p);
      const n = cache.partLength(h, p);
      this.parts.push(Buffer.from(u8.buffer, u8.byteOffset + s, n));
      this.queued += n;
      this.viewed += n;
    }
    if (this.pins === NO_PINS) this.pins = [];
    this.pins.push(h);
  }

  /**
   * What is in the batch now would go out even if the connection closes before the
   * batch is flushed: memcached writes its replies out after every get and mn, and
   * drops only what came after when it hangs up (dropUncommitted()).
   */
  commit(): void {
    this.committedBytes = this.queued + this.len - this.sealed;
    this.committedPins = this.pins.length;
  }

  /** The batch holds replies that came after its last commit(). */
  get uncommitted(): boolean {
    return this.pending > this.committedBytes;
  }

  /** Drops what the batch gained since its last commit(), releasing those pins. */
  dropUncommitted(): void {
    const keep = this.committedBytes;
    for (let i = this.committedPins; i < this.pins.length; i++) this.cache.unpin(this.pins[i]);
    if (this.pins.length !== this.committedPins) this.pins.length = this.committedPins;
    if (keep >= this.queued) {
      this.len = this.sealed + (keep - this.queued);
      return;
    }
    let n = 0;
    let i = 0;
    for (; i < this.parts.length && n + this.parts[i].length <= keep; i++) n += this.parts[i].length;
    if (n < keep) {
      this.parts[i] = this.parts[i].subarray(0, keep - n);
      i++;
    }
    if (this.parts.length !== i) this.parts.length = i;
    this.queued = keep;
    this.viewed = Math.min(this.viewed, keep);
    this.len = this.sealed;
  }

  /** Moves buf[sealed, len) into parts so arena views can follow it in order. */
  private seal(): void {
    if (this.len > this.sealed) {
      if (this.parts === NO_BUFFERS) this.parts = [];
      this.parts.push(this.buf.subarray(this.sealed, this.len));
      this.queued += this.len - this.sealed;
    }
    this.sealed = this.len;
  }

  /**
   * Hands everything to `write` in order and starts the next batch after it, in the
   * same chunk. Returns what must outlive the write, for release() once the socket
   * has written the last buffer (or closed), or null when nothing does.
   */
  flush(write: (b: Uint8Array) => void): Sent | null {
    if (this.parts.length === 0) {
      if (this.len > this.sealed) write(this.tail());
    } else {
      for (const p of this.parts) write(p);
      if (this.len > this.sealed) write(this.tail());
      this.parts = NO_BUFFERS;
      this.queued = 0;
      this.viewed = 0;
    }
    this.sealed = this.len;
    this.committedBytes = 0;
    this.committedPins = 0;
    if (this.pins.length === 0 && this.spent.length === 0) return null;
    const sent: Sent = { chunks: this.spent, pins: this.pins };
    this.spent = NO_CHUNKS;
    this.pins = NO_PINS;
    return sent;
  }

  /**
   * The batch as one buffer, when it is one and nothing must outlive its write
   * (no arena views, pins or spent chunks): flush() for the common small reply,
   * without a list to fill. Starts the next batch after it; null (and nothing
   * changed) when flush() is needed.
   */
  single(): Uint8Array | null {
    if (this.parts.length !== 0 || this.pins.length !== 0 || this.spent.length !== 0) return null;
    const t = this.tail();
    this.sealed = this.len;
    this.committedBytes = 0;
    this.committedPins = 0;
    return t;
  }

  /**
   * buf[sealed, len) as a plain Uint8Array over the chunk's ArrayBuffer (buf starts
   * at its start): Buffer's subarray builds a Buffer subclass, and reading
   * buf.buffer is a call wherever the chunk may be resizable.
   */
  private tail(): Uint8Array {
    const c = this.chunk as Chunk;
    const s = this.sealed;
    const n = this.len - s;
    // the same bytes as last time: a view is only ever read, so it may go out again
    if (c.viewStart !== s || c.viewLength !== n) {
      c.view = new Uint8Array(c.ab, s, n);
      c.viewStart = s;
      c.viewLength = n;
    }
    return c.view;
  }

  /** The socket has written (or dropped) what flush() returned. */
  release(sent: Sent): void {
    for (const h of sent.pins) this.cache.unpin(h);
    for (const c of sent.chunks) giveChunk(c);
    if (sent.pins.length > 0) sent.pins.length = 0;
    if (sent.chunks.length > 0) sent.chunks.length = 0;
  }

  /**
   * Nothing of this connection's is waiting to be written (the caller knows the
   * socket's queue is empty): give the chunk back, so an idle connection holds none.
   */
  idle(): void {
    if (!this.isEmpty() || this.spent.length > 0) return;
    if (this.chunk !== null) giveChunk(this.chunk);
    this.chunk = null;
    this.buf = EMPTY;
    this.len = 0;
    this.sealed = 0;
  }

  /**
   * Drops what this batch has not handed to the socket yet and releases its pins.
   * Chunks that may hold bytes already written stay until close().
   */
  discard(): void {
    if (this.units !== null) this.units.length = 0;
    for (const h of this.pins) this.cache.unpin(h);
    this.pins = NO_PINS;
    this.parts = NO_BUFFERS;
    this.queued = 0;
    this.viewed = 0;
    this.len = this.sealed;
    this.committedBytes = 0;
    this.committedPins = 0;
  }

  /** The connection is gone and its socket closed: everything goes back. */
  close(): void {
    this.discard();
    for (const c of this.spent) giveChunk(c);
    this.spent = NO_CHUNKS;
    if (this.chunk !== null) giveChunk(this.chunk);
    this.chunk = null;
    this.buf = EMPTY;
    this.len = 0;
    this.sealed = 0;
  }
}
