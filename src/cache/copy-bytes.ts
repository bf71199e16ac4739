/**
 * Byte copies into and out of item memory, which is SharedArrayBuffers.
 *
 * V8 copies to or from a SharedArrayBuffer with relaxed atomic loads and stores
 * (TypedArray.prototype.set, and Buffer.copy over it): word by word when source and
 * destination agree in their address mod 8, else one byte at a time. A value's place
 * in an item and its place in a reply or a read buffer agree only by chance, so most
 * copies took the byte loop: about 6 instructions a byte, some 20 times a memcpy's
 * cost for a 4 KiB value, and even the word copy costs several times a memcpy.
 *
 * So a long copy goes through Buffer.prototype.fill, whose C++ half memcpys a
 * source exactly as long as the range it fills: one binding call, then memcpy
 * speed whatever the memory. A shorter one, where that call would cost more than it
 * saves, goes through a private scratch buffer when its ends disagree, placed at the
 * shared side's alignment: a word copy to or from the shared side, and a memcpy to
 * or from the private side.
 */

/** The source is item memory. */
export const FROM_SHARED = 1;
/** The destination is item memory. */
export const TO_SHARED = 2;
/** Both are (an item's value copied into another item). */
export const SHARED_BOTH = FROM_SHARED | TO_SHARED;

/** From this length on, a copy is one Buffer.prototype.fill (a memcpy in C++). */
const FILL_MIN = 512;
const fill = Buffer.prototype.fill;

/** Bytes moved per step through the scratch buffer. */
const STEP = FILL_MIN;
/** Private memory, never shared: copies between it and a private buffer are a memcpy. */
const scratch = new Uint8Array(STEP + 8);

/**
 * Copies n bytes of src at s to dst at d; `shared` (FROM_SHARED, TO_SHARED or
 * SHARED_BOTH) says which side is item memory. src and dst do not overlap.
 */
export function copyBytes(src: Uint8Array, s: number, dst: Uint8Array, d: number, n: number, shared: number): void {
  if (n <= 64) {
    // a plain loop: making a subarray costs more than copying a short run
    for (let i = 0; i < n; i++) dst[d + i] = src[s + i];
    return;
  }
  if (n >= FILL_MIN) {
    // fill repeats its source over [d, d + n): one copy, as the source is n bytes long
    fill.call(dst, src.subarray(s, s + n), d, d + n);
    return;
  }
  const sa = (src.byteOffset + s) & 7;
  const da = (dst.byteOffset + d) & 7;
  if (sa === da) {
    dst.set(src.subarray(s, s + n), d);
    return;
  }
  // the scratch copy sits at the shared source's alignment, or else the
  // destination's; between two shared sides it shifts within the scratch (a memmove)
  const a = (shared & FROM_SHARED) !== 0 ? sa : da;
  const b = (shared & TO_SHARED) !== 0 ? da : a;
  while (n > 0) {
    const k = n < STEP ? n : STEP;
    scratch.set(src.subarray(s, s + k), a);
    if (a !== b) scratch.copyWithin(b, a, a + k);
    dst.set(scratch.subarray(b, b + k), d);
    s += k;
    d += k;
    n -= k;
  }
}
