/**
 * Byte copies into and out of item memory. The engine picks one of two copies for
 * its kind of memory (shared-block.ts): plain ArrayBuffers when no other thread
 * attaches (the daemon at -t 1, engines in tests), SharedArrayBuffers at -t N.
 *
 * Every copy has the same choices. A JavaScript byte loop over typed arrays costs
 * about 30 instructions a byte on Node 20 (bounds and detach checks per element).
 * TypedArray.prototype.set is a builtin call of about 300 instructions, and needs a
 * source view exactly as long as the copy: a typed array object, garbage at once.
 * Buffer.prototype.fill is a C++ binding call of about 600 instructions that memcpys
 * a source exactly as long as the range it fills. From Node 24 on,
 * Buffer.prototype.copy is a C++ memcpy over any memory that takes the range as
 * numbers, with no view at all; on Node 20 it makes a view and calls set().
 *
 * Plain memory: set() is a memcpy after its call, so past a few bytes it beats the
 * loop; on Node 24 Buffer.prototype.copy does the same with no view.
 *
 * Shared memory: V8 copies to or from a SharedArrayBuffer with relaxed atomic loads
 * and stores (set(), and Buffer.copy over it on Node 20): word by word when source
 * and destination agree in their address mod 8, else one byte at a time. A value's
 * place in an item and its place in a reply or a read buffer agree only by chance,
 * so most copies take the byte loop: about 6 instructions a byte, some 20 times a
 * memcpy's cost for a 4 KiB value. So a copy of 128 bytes or more goes through
 * fill (Node 20) or Buffer.prototype.copy (Node 24, about 40% faster than fill for
 * 10 KiB), which memcpy whatever the memory; shorter ones stay with set(), and up
 * to 64 bytes with the loop, where the call and the view cost more than they save.
 *
 * The views made for set() and fill() were, under a load of 10 KB multigets and
 * 1 MB uploads, the largest share of the young generation's churn on Node 20.
 * They are plain Uint8Arrays over src's buffer. Making one with src.subarray()
 * looks up the Buffer constructor's species, and reading src.buffer is a runtime
 * call for a view of a SharedArrayBuffer: each costs about as much as the copy of a
 * 100-byte value. So the buffer and offset of the last source are kept: copies come
 * from the same item page or read buffer again and again. (That keeps the last
 * source alive until a copy from another one.)
 */

/** Copies n bytes of src at s to dst at d (src and dst do not overlap). */
export type CopyBytes = (src: Uint8Array, s: number, dst: Uint8Array, d: number, n: number) => void;

/** Plain memory: up to this length a copy is the byte loop. */
const PLAIN_LOOP_MAX = 16;
/** Shared memory: up to this length a copy is the byte loop; from FILL_MIN on, one native memcpy. */
const SHARED_LOOP_MAX = 64;
const FILL_MIN = 128;
const fill = Buffer.prototype.fill;
const bufCopy = Buffer.prototype.copy;
/** Buffer.prototype.copy is a memcpy whatever the memory, with no view: Node 24 on */
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

/** The copy for an engine over plain ArrayBuffers (both sides plain). */
export function copyPlainBytes(src: Uint8Array, s: number, dst: Uint8Array, d: number, n: number): void {
  if (n <= PLAIN_LOOP_MAX) {
    for (let i = 0; i < n; i++) dst[d + i] = src[s + i];
  } else if (NATIVE_COPY) {
    bufCopy.call(src, dst, d, s, s + n);
  } else {
    dst.set(view(src, s, n), d);
  }
}

/** The copy for an engine over SharedArrayBuffers (either side may be shared). */
export function copySharedBytes(src: Uint8Array, s: number, dst: Uint8Array, d: number, n: number): void {
  if (n <= SHARED_LOOP_MAX) {
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
