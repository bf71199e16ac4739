/**
 * memcached's safe_strtoull over bytes: the number in buf[start, end) as a 64-bit
 * unsigned BigInt, or -1n when memcached would refuse it. Leading whitespace and a
 * sign are accepted as strtoull accepts them; the number must be followed by
 * whitespace, a NUL or the end; a negative number that doesn't wrap into the signed range
 * is refused (memcached's "-" check). Used for incr/decr deltas and item values.
 */
export const U64_MAX = (1n << 64n) - 1n;

/** C's isspace(): what strtoull skips before a number. */
export function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * What may follow the digits: whitespace, or a NUL, where C's string ends (an item
 * holding "12\0a" is 12 to memcached; request tokens never hold a NUL).
 */
function endsNumber(c: number): boolean {
  return c === 0 || isSpace(c);
}

/** Set by skipSignAndSpace: the number it found the start of is negative. */
export let negative = false;

/**
 * strtoul/strtoull's lead-in, shared with the request parsers: skips whitespace
 * and one sign (noted in `negative`); returns where the digits start.
 */
export function skipSignAndSpace(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end && isSpace(buf[i])) i++;
  negative = false;
  if (i < end && (buf[i] === 0x2b || buf[i] === 0x2d)) {
    negative = buf[i] === 0x2d;
    i++;
  }
  return i;
}

export function safeStrtoull(buf: Uint8Array, start: number, end: number): bigint {
  let i = skipSignAndSpace(buf, start, end);
  const digitsStart = i;
  // accumulate in a Number while exact, then switch to BigInt
  let small = 0;
  while (i < end && i - digitsStart < 15) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) break;
    small = small * 10 + d;
    i++;
  }
  let v = BigInt(small);
  while (i < end) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) break;
    v = v * 10n + BigInt(d);
    if (v > U64_MAX) return -1n; // ERANGE
    i++;
  }
  if (i === digitsStart) return -1n;
  if (i < end && !endsNumber(buf[i])) return -1n;
  if (negative) {
    v = (-v) & U64_MAX;
    if (v >= 1n << 63n) return -1n;
  }
  return v;
}

/**
 * A 64-bit unsigned value as incr/decr carry it: a Number while it is below 2^53
 * (the common case: counters, small deltas; no allocation), a BigInt only at or
 * above 2^53. `-1` (a Number) marks a refused parse.
 */
export type U64 = number | bigint;

/** strtoullInto: the number is in out.value. */
export const IS_U64 = 0;
/** strtoullInto: safe_strtoull refuses the number. */
export const NOT_U64 = -1;
/** strtoullInto: the number is at least 2^53 (or may be); ask safeStrtoull. */
export const BIG_U64 = -2;

/**
 * Where strtoullInto leaves its Number. A field, not a return value: V8 boxes a
 * double (any integer from 2^31 on) returned from a call it did not inline in a
 * fresh HeapNumber, which would be garbage per counter update.
 */
export interface NumberOut {
  value: number;
}

/**
 * safe_strtoull's rules (as safeStrtoull above) without BigInt: IS_U64 with the
 * number in buf[start, end) in out.value when it is below 2^53, NOT_U64 when
 * memcached would refuse it, BIG_U64 when a Number cannot hold it exactly.
 */
export function strtoullInto(out: NumberOut, buf: Uint8Array, start: number, end: number): number {
  let i = skipSignAndSpace(buf, start, end);
  const digitsStart = i;
  let v = 0;
  while (i < end) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) break;
    // exact while v stays safe; once the true value passes 2^53-1 the rounded
    // one does too (rounding is monotonic and 2^53 is representable)
    v = v * 10 + d;
    if (v > Number.MAX_SAFE_INTEGER) return BIG_U64;
    i++;
  }
  if (i === digitsStart) return NOT_U64;
  if (i < end && !endsNumber(buf[i])) return NOT_U64;
  // strtoull negates modulo 2^64: -v for 0 < v < 2^53 is >= 2^63, which
  // memcached refuses when a '-' is present
  if (negative && v !== 0) return NOT_U64;
  out.value = v;
  return IS_U64;
}

const TWO53 = 1n << 53n;

const parsed: NumberOut = { value: 0.5 }; // 0.5: a double field from the start

/**
 * safe_strtoull as a U64 (request deltas): a Number below 2^53, a BigInt above,
 * -1 when refused. Small deltas come back as small integers, which V8 never boxes.
 */
export function strtoullU64(buf: Uint8Array, start: number, end: number): U64 {
  const st = strtoullInto(parsed, buf, start, end);
  if (st === IS_U64) return parsed.value;
  if (st === NOT_U64) return NOT_U64;
  const big = safeStrtoull(buf, start, end);
  if (big < 0n) return NOT_U64;
  // "-18446744073709551615" is 1: keep "a Number iff below 2^53"
  return big < TWO53 ? Number(big) : big;
}

const TWO32 = 4294967296;
/** The 53-bit safe range in the high half: hi below 2^21. */
const HI_SAFE = 0x200000;

/** A 64-bit big-endian field's halves as a U64 (binary incr/decr delta and initial). */
export function u64FromHalves(hi: number, lo: number): U64 {
  if (hi < HI_SAFE) return hi * TWO32 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}
