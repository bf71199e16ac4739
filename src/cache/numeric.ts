/**
 * Numbers in bytes, both ways: memcached's safe_strto* rules (util.c) for every
 * number a request or an item holds, and the one decimal writer replies use.
 *
 * Every parser reads buf[start, end) and returns its result; a refused number is
 * a sentinel (-1, or NOT_INT32 for the signed parser), never a flag left in a
 * module variable. The rules, as strtoul/strtoull/strtol read them:
 *
 * - leading whitespace (C's isspace) and one sign are skipped;
 * - at least one digit, then the end of the range, whitespace or a NUL (an item
 *   holding "12\0a" is 12 to memcached; request tokens never hold a NUL);
 * - a number past the 64-bit range is refused (ERANGE);
 * - strtoul and strtoull negate "-N" modulo 2^64, and memcached refuses the
 *   result when a '-' is present and it looks negative as a signed long.
 *
 * Lives in cache/ because the engine parses item values (incr/decr); the
 * protocols and the admin commands use it from there.
 */
export const U64_MAX = (1n << 64n) - 1n;

/** C's isspace(): what strtoull skips before a number. */
export function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** What may follow the digits: whitespace, or a NUL, where C's string ends. */
function endsNumber(c: number): boolean {
  return c === 0 || isSpace(c);
}

/**
 * strtoul's lead-in: skips whitespace and one sign; returns where the digits
 * start. A '-' is then at buf[digits - 1] (see isNegative()).
 */
function digitsStart(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end && isSpace(buf[i])) i++;
  if (i < end && (buf[i] === 0x2b || buf[i] === 0x2d)) i++;
  return i;
}

/** The number whose digits start at `ds` (from digitsStart) had a '-'. */
function isNegative(buf: Uint8Array, start: number, ds: number): boolean {
  return ds > start && buf[ds - 1] === 0x2d;
}

/**
 * memcached's safe_strtoull: the number in buf[start, end) as a 64-bit unsigned
 * BigInt, or -1n when memcached would refuse it. Used for incr/decr deltas and
 * item values past 2^53.
 */
export function safeStrtoull(buf: Uint8Array, start: number, end: number): bigint {
  const ds = digitsStart(buf, start, end);
  let i = ds;
  // accumulate in a Number while exact, then switch to BigInt
  let small = 0;
  while (i < end && i - ds < 15) {
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
  if (i === ds) return -1n;
  if (i < end && !endsNumber(buf[i])) return -1n;
  if (isNegative(buf, start, ds)) {
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
 * The digits from ds as a Number in out.value: IS_U64; NOT_U64 when there are
 * none or junk follows them; BIG_U64 when a Number cannot hold them exactly. The
 * sign is the caller's business. (A field, not a return value: see NumberOut.)
 */
function digitsInto(out: NumberOut, buf: Uint8Array, ds: number, end: number): number {
  let i = ds;
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
  if (i === ds) return NOT_U64;
  if (i < end && !endsNumber(buf[i])) return NOT_U64;
  out.value = v;
  return IS_U64;
}

/**
 * safe_strtoull's rules (as safeStrtoull above) without BigInt: IS_U64 with the
 * number in buf[start, end) in out.value when it is below 2^53, NOT_U64 when
 * memcached would refuse it, BIG_U64 when a Number cannot hold it exactly.
 */
export function strtoullInto(out: NumberOut, buf: Uint8Array, start: number, end: number): number {
  const ds = digitsStart(buf, start, end);
  const st = digitsInto(out, buf, ds, end);
  // strtoull negates modulo 2^64: -v for 0 < v < 2^53 is >= 2^63, which
  // memcached refuses when a '-' is present
  if (st === IS_U64 && out.value !== 0 && isNegative(buf, start, ds)) return NOT_U64;
  return st;
}

const TWO53 = 1n << 53n;
const TWO63 = 1n << 63n;
const TWO32 = 4294967296;

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

/** The 53-bit safe range in the high half: hi below 2^21. */
const HI_SAFE = 0x200000;

/** A 64-bit big-endian field's halves as a U64 (binary incr/decr delta and initial). */
export function u64FromHalves(hi: number, lo: number): U64 {
  if (hi < HI_SAFE) return hi * TWO32 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** strtol32 refused the number: a value no int32_t holds. */
export const NOT_INT32 = TWO32;

/** The digits from ds as a BigInt magnitude, or -1n when junk follows them (long numbers only). */
function bigMagnitude(buf: Uint8Array, ds: number, end: number): bigint {
  let v = 0n;
  let i = ds;
  for (; i < end; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) break;
    v = v * 10n + BigInt(d);
  }
  return i < end && !endsNumber(buf[i]) ? -1n : v;
}

/**
 * memcached 1.6.18's safe_strtol into an int32_t: strtol (64-bit long, ERANGE
 * refused), then truncated to 32 bits as the C assignment does, so 4294967396 is
 * 100 and 99999999999 is 1215752191. NOT_INT32 when refused. Used for exptime and
 * lengths.
 */
export function strtol32(buf: Uint8Array, start: number, end: number): number {
  const ds = digitsStart(buf, start, end);
  const neg = isNegative(buf, start, ds);
  const st = digitsInto(parsed, buf, ds, end);
  if (st === NOT_U64) return NOT_INT32;
  const m = parsed.value;
  if (st === IS_U64) return (neg ? -m : m) | 0;
  const big = bigMagnitude(buf, ds, end);
  if (big < 0n || (neg ? big > TWO63 : big >= TWO63)) return NOT_INT32; // junk, or ERANGE
  return Number(BigInt.asIntN(32, neg ? -big : big));
}

/**
 * safe_strtoul into a uint32_t: strtoul (64-bit, a '-' negates modulo 2^64), a
 * '-' refused when the result looks negative as a signed long, then truncated to
 * 32 bits (flags 4294967296 are stored as 0, as memcached does). -1 when refused.
 */
export function strtoul32(buf: Uint8Array, start: number, end: number): number {
  const ds = digitsStart(buf, start, end);
  const neg = isNegative(buf, start, ds);
  const st = digitsInto(parsed, buf, ds, end);
  if (st === NOT_U64) return -1;
  const m = parsed.value;
  if (st === IS_U64) return !neg || m === 0 ? m % TWO32 : -1; // "-5" is 2^64-5: negative as a long
  // past 2^53: strtoull's range and sign rules are safeStrtoull's
  const v = safeStrtoull(buf, start, end);
  return v < 0n ? -1 : Number(v % BigInt(TWO32));
}

/**
 * safe_strtoull as a Number (CAS unique values), -1 when refused: exact below
 * 2^53, which is as far as our CAS counter goes; larger values cannot match any
 * item.
 */
export function strtoullNum(buf: Uint8Array, start: number, end: number): number {
  const v = strtoullU64(buf, start, end);
  return typeof v === 'number' ? v : Number(v);
}

/** strtoul32 over a whole word, -1 when refused or absent (admin commands: a cold path). */
export function strtoulStr(s: string | undefined): number {
  return s === undefined ? -1 : strtoul32(Buffer.from(s, 'latin1'), 0, s.length);
}

/** strtol32 over a whole word, NOT_INT32 when refused or absent (admin commands). */
export function strtolStr(s: string | undefined): number {
  return s === undefined ? NOT_INT32 : strtol32(Buffer.from(s, 'latin1'), 0, s.length);
}

/**
 * The one decimal writer: n (a non-negative integer below 2^53) at b[p], padded
 * with zeros to `minDigits`; returns the end. Makes no string; (n - r) / 10 is
 * exact where n / 10 may round.
 */
export function putDecimal(b: Uint8Array, p: number, n: number, minDigits = 1): number {
  if (n < 10 && minDigits <= 1) {
    // flags are mostly 0: one store, no digit count
    b[p] = 0x30 + n;
    return p + 1;
  }
  if (n <= 0x7fffffff && minDigits <= 1) {
    // lengths, flags and most counters: int32 arithmetic, where `%` and `/` on a
    // value that may be a double (the general loop below) are float operations
    let v = n | 0;
    const end = p + (v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : v < 100000 ? 5 : v < 1000000 ? 6 :
      v < 10000000 ? 7 : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10);
    for (let q = end; q > p;) {
      const t = (v / 10) | 0;
      b[--q] = 0x30 + v - t * 10;
      v = t;
    }
    return end;
  }
  let digits = 1;
  for (let x = n; x >= 10; x = (x - (x % 10)) / 10) digits++;
  if (digits < minDigits) digits = minDigits;
  const end = p + digits;
  for (let q = end; q > p;) {
    const r = n % 10;
    b[--q] = 0x30 + r;
    n = (n - r) / 10;
  }
  return end;
}
