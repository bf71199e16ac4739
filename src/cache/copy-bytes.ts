/**
 * Byte copies into and out of item memory, which is SharedArrayBuffers.
 *
 * V8 copies to or from a SharedArrayBuffer with relaxed atomic loads and stores
 * (TypedArray.prototype.set, and Buffer.copy over it): word by word when source and
 * destination agree in their address mod 8, else one byte at a time. A value's place
 * in an item and its place in a reply or a read buffer agree only by chance, so most
 * copies take the byte loop: about 6 instructions a byte, some 20 times a memcpy's
 * cost for a 4 KiB value.
 *
 * So a longer copy goes through Buffer.prototype.fill, whose C++ half memcpys a
 * source exactly as long as the range it fills: one binding call (about 600
 * instructions), then memcpy speed whatever the memory. Shorter ones stay with
 * TypedArray.prototype.set, where that call would cost more than it saves.
 *
 * fill needs a source view exactly as long as the copy, so every such copy makes
 * one (a typed array object, garbage at once): under a load of 10 KB multigets and
 * 1 MB uploads these views were the largest share of the young generation's churn,
 * and so of its scavenges. From Node 24 on, Buffer.prototype.copy is a C++ memcpy
 * over any memory and takes the range as numbers, with no view at all (and about
 * 40% faster than fill for 10 KiB); on Node 20 it still goes through the relaxed
 * per-byte copy over a SharedArrayBuffer, 20 times slower, so there fill stays.
 *
 * set() and fill() take the source range as a plain Uint8Array over src's buffer.
 * Making it with src.subarray() looks up the Buffer constructor's species, and reading
 * src.buffer is a runtime call for a view of a SharedArrayBuffer: each costs about
 * as much as the copy of a 100-byte value. So the buffer and offset of the last
 * source are kept: copies come from the same item page or read buffer again and
 * again. (That keeps the last source alive until a copy from another one.)
 */

/** From this length on, a copy is one Buffer.prototype.fill (a memcpy in C++). */
const FILL_MIN = 128;
const fill = Buffer.prototype.fill;
const bufCopy = Buffer.prototype.copy;
/** Buffer.prototype.copy is a memcpy whatever the memory: Node 24 on (on Node 20, the byte copy) */
const NATIVE_COPY = Number(process.versions.node.split('.')[0]) >= 24;

/** The last source of a view, and its buffer and offset. */
let lastSrc: Uint8Array | null = null;
let lastBuffer: ArrayBufferLike = new ArrayBuffer(0);
let lastOffset = 0;

/** src[s, s + n) as a plain Uint8Array. */
function view(src: Uint8Array, s: number, n: number): Uint8Array {
  if (src !== lastSrc) {
    lastSrc = src;
    lastBuffer = src.buffer;
    lastOffset = src.byteOffset;
  }
  return new Uint8Array(lastBuffer, lastOffset + s, n);
}

/** Copies n bytes of src at s to dst at d (src and dst do not overlap). */
export function copyBytes(src: Uint8Array, s: number, dst: Uint8Array, d: number, n: number): void {
  if (n <= 64) {
    // a plain loop: making a view costs more than copying a short run
    for (let i = 0; i < n; i++) dst[d + i] = src[s + i];
  } else if (n < FILL_MIN) {
    dst.set(view(src, s, n), d);
  } else if (NATIVE_COPY) {
    bufCopy.call(src, dst, d, s, s + n);
  } else {
    // fill repeats its source over [d, d + n): one copy, as the source is n bytes long
    fill.call(dst, view(src, s, n), d, d + n);
  }
}
