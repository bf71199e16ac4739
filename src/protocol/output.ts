/**
 * A connection's output batch: every reply produced while handling one read goes
 * here, and the server writes it with one write (or one corked burst when large
 * values ride along as views of the arena).
 *
 * Small values are copied in. Values of at least PIN_MIN bytes are not copied: the
 * item is pinned (engine refcount) and a view of its arena bytes is queued; the
 * server unpins once the socket has written them, so an overwrite or eviction in
 * the meantime cannot change bytes the kernel has not taken yet.
 */
import type { Cache } from '../cache/engine.js';
import { ByteWriter } from '../cache/byte-writer.js';
import { putDecimal } from '../cache/numeric.js';

/** Values this large are written from the arena instead of copied. */
export const PIN_MIN = 16 * 1024;
/**
 * A batch starts small (most replies are a few hundred bytes, and -c may allow
 * thousands of connections) and doubles as needed; one that grew past KEEP_MAX is
 * dropped after its flush so a single large multiget doesn't pin memory forever.
 */
const INITIAL_SIZE = 4 * 1024;
const KEEP_MAX = 256 * 1024;

export class Output extends ByteWriter {
  /** buffers queued before buf[sealed, len): slices of buf and arena views */
  parts: Buffer[] = [];
  /** items pinned by the queued parts, to unpin once written */
  pins: number[] = [];
  private sealed = 0;
  /**
   * Where response units start, as offsets into this batch's
   * bytes, on a connection that frames replies by unit (UDP: memcached sends each
   * command's reply, and each key of a get, as its own framed message); null
   * elsewhere. The reader clears it after each flush.
   */
  units: number[] | null = null;

  constructor(private readonly cache: Cache) {
    super(INITIAL_SIZE);
  }

  /** A new response unit starts here (memcached's resp_start()); no-op unless `units`. */
  unit(): void {
    if (this.units === null) return;
    let n = this.len - this.sealed;
    for (const p of this.parts) n += p.length;
    this.units.push(n);
  }

  isEmpty(): boolean {
    return this.len === this.sealed && this.parts.length === 0;
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
    for (let i = 0; i < kl; i++) b[p + i] = key[ks + i];
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
    for (let p = cache.valuePartFirst(h); p !== 0; p = cache.valuePartNext(h, p)) {
      const u8 = cache.partU8(p);
      const s = cache.partStart(h, p);
      this.parts.push(Buffer.from(u8.buffer, u8.byteOffset + s, cache.partLength(h, p)));
    }
    this.pins.push(h);
  }

  /** Moves buf[sealed, len) into parts so arena views can follow it in order. */
  private seal(): void {
    if (this.len > this.sealed) this.parts.push(this.buf.subarray(this.sealed, this.len));
    this.sealed = this.len;
  }

  /**
   * Hands everything to `write` in order and resets. Returns the pins the caller
   * must release (via release()) once the last buffer is written, or null.
   * `reuse` false: the socket kept a reference to buf (write not done at once), so
   * the next batch gets a fresh buffer.
   */
  flush(write: (b: Buffer) => void): number[] | null {
    if (this.parts.length === 0) {
      if (this.len > 0) write(this.buf.subarray(0, this.len));
    } else {
      for (const p of this.parts) write(p);
      if (this.len > this.sealed) write(this.buf.subarray(this.sealed, this.len));
    }
    const pins = this.pins.length > 0 ? this.pins : null;
    if (pins) this.pins = [];
    if (this.parts.length > 0) this.parts = [];
    this.len = 0;
    this.sealed = 0;
    if (this.buf.length > KEEP_MAX) this.buf = Buffer.allocUnsafe(INITIAL_SIZE);
    return pins;
  }

  /** The socket still holds buf: start the next batch in a new buffer. */
  detach(): void {
    this.restart(INITIAL_SIZE);
  }

  release(pins: number[]): void {
    for (const h of pins) this.cache.unpin(h);
  }

  /** Drops everything unsent (connection closing) and releases pins. */
  discard(): void {
    if (this.units !== null) this.units.length = 0;
    this.release(this.pins);
    this.pins = [];
    this.parts = [];
    this.len = 0;
    this.sealed = 0;
  }
}
