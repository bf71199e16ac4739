/**
 * The one byte writer: a growable buffer that replies and dumps are appended to,
 * bytes and decimals alike, without making strings. The protocols' Output adds
 * values, pins and flushing on top of it; the engine's metadump writes its lines
 * with it directly.
 */
import { putDecimal } from './numeric.js';

export class ByteWriter {
  buf: Buffer;
  len = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Starts over in a fresh buffer: whoever took the old one may still hold it. */
  restart(size: number): void {
    this.buf = Buffer.allocUnsafe(size);
    this.len = 0;
  }

  /** Room for n more bytes: doubles the buffer as needed. */
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = Math.max(this.buf.length * 2, 64);
    while (size < this.len + n) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.len);
    // slices taken of the old buffer keep it alive as long as they need it
    this.buf = grown;
  }

  /**
   * A preallocated reply such as END\r\n. Up to 8 bytes are stored one by one,
   * unrolled: TypedArray.prototype.set is a builtin call that costs as much as
   * some 15 stores, and a loop reloads both arrays on every turn.
   */
  bytes(b: Uint8Array): void {
    const n = b.length;
    this.reserve(n);
    const d = this.buf;
    const p = this.len;
    if (n <= 8) {
      if (n > 0) d[p] = b[0];
      if (n > 1) d[p + 1] = b[1];
      if (n > 2) d[p + 2] = b[2];
      if (n > 3) d[p + 3] = b[3];
      if (n > 4) d[p + 4] = b[4];
      if (n > 5) d[p + 5] = b[5];
      if (n > 6) d[p + 6] = b[6];
      if (n > 7) d[p + 7] = b[7];
    } else {
      d.set(b, p);
    }
    this.len = p + n;
  }

  range(src: Uint8Array, s: number, e: number): void {
    const n = e - s;
    this.reserve(n);
    const b = this.buf;
    if (n <= 64) {
      // a key or a short word: a loop is cheaper than making a subarray view
      for (let i = 0, p = this.len; i < n; i++) b[p + i] = src[s + i];
    } else {
      b.set(src.subarray(s, e), this.len);
    }
    this.len += n;
  }

  byte(c: number): void {
    this.reserve(1);
    this.buf[this.len++] = c;
  }

  /** ASCII text (for stats and other cold replies). */
  text(s: string): void {
    this.reserve(s.length * 3);
    this.len += this.buf.write(s, this.len, 'latin1');
  }

  /** An integer in decimal (negative allowed), without making a string. */
  decimal(n: number): void {
    if (n < 0) {
      this.byte(0x2d);
      n = -n;
    }
    if (n > Number.MAX_SAFE_INTEGER) {
      this.text(String(n));
      return;
    }
    this.reserve(16);
    this.len = putDecimal(this.buf, this.len, n);
  }
}
