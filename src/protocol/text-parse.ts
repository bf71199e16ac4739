/**
 * Byte-level helpers for the classic text protocol: memcached's tokenizer and its
 * safe_strto* number rules, over (buf, start, end) ranges so the hot path never
 * makes a string.
 */
import { isSpace, negative, safeStrtoull, skipSignAndSpace } from '../cache/numeric.js';

/**
 * memcached's MAX_TOKENS is 24 including the terminal token: it splits at most 23
 * words off a line and leaves the rest as one unsplit tail. Commands that check
 * their word count see at most 23 words (ntokens 24) however long the line is.
 */
export const MAX_WORDS = 23;

/**
 * One request line split on spaces (only ' ': a tab is part of a word, as in
 * memcached). Refilled for every line: nothing is allocated per request.
 */
export class Words {
  readonly s = new Int32Array(MAX_WORDS);
  readonly e = new Int32Array(MAX_WORDS);
  /** words found, at most MAX_WORDS */
  n = 0;
  /** where the unsplit rest of the line starts when more than MAX_WORDS words */
  rest = -1;
  /** end of the line (after trailing \r removal and truncation at a NUL byte) */
  end = 0;

  /**
   * Splits buf[start, end). memcached tokenizes a C string, so a NUL byte ends the
   * line early. Returns n.
   */
  split(buf: Uint8Array, start: number, end: number): number {
    let n = 0;
    let i = start;
    this.rest = -1;
    let stop = end;
    for (;;) {
      while (i < stop && buf[i] === 0x20) i++;
      if (i >= stop) break;
      if (n === MAX_WORDS) {
        this.rest = i;
        // the unsplit rest is a C string to memcached too: a NUL ends the line there
        const z = buf.indexOf(0, i);
        if (z >= 0 && z < stop) stop = z;
        break;
      }
      const ws = i;
      while (i < stop) {
        const c = buf[i];
        if (c === 0x20) break;
        if (c === 0) {
          stop = i;
          break;
        }
        i++;
      }
      if (i === ws) break; // a NUL right at a word start
      this.s[n] = ws;
      this.e[n] = i;
      n++;
    }
    this.n = n;
    this.end = stop;
    return n;
  }

  len(i: number): number {
    return this.e[i] - this.s[i];
  }

  /** memcached's ntokens: words (capped) plus the terminal token */
  get ntokens(): number {
    return this.n + 1;
  }

  /** True if word i is exactly `lit`. */
  is(buf: Uint8Array, i: number, lit: Uint8Array): boolean {
    const s = this.s[i];
    if (this.e[i] - s !== lit.length) return false;
    for (let k = 0; k < lit.length; k++) if (buf[s + k] !== lit[k]) return false;
    return true;
  }

  /** set_noreply_maybe(): the last word (tokens[ntokens - 2]) is "noreply". */
  noreply(buf: Uint8Array): boolean {
    return this.n > 0 && this.is(buf, this.n - 1, NOREPLY);
  }

  /** Word i as a string: cold paths only (stats, admin commands). */
  str(buf: Buffer, i: number): string {
    return buf.toString('latin1', this.s[i], this.e[i]);
  }
}

export const NOREPLY = Buffer.from('noreply');

/** Set by the parsers below: false when the last parse failed. */
export let parsedOk = false;

const TWO32 = 4294967296;
const TWO63 = 2n ** 63n;
const TWO64 = 2n ** 64n;

/**
 * strtol/strtoul's scan of buf[s, e): optional leading whitespace and sign, then
 * digits, then the end of the word or a whitespace byte. Returns the magnitude
 * (as a Number while it is exact, else -2 to ask for the slow path), or -1 if no
 * digits or junk follows them. `neg` is left in scanNeg.
 */
let scanNeg = false;
function scan(buf: Uint8Array, s: number, e: number): number {
  let i = skipSignAndSpace(buf, s, e);
  scanNeg = negative;
  const ds = i;
  let v = 0;
  while (i < e) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
    i++;
  }
  if (i === ds) return -1;
  if (i < e && !isSpace(buf[i])) return -1;
  return i - ds > 15 ? -2 : v;
}

/** The digits of buf[s, e) as a BigInt magnitude (slow path for long numbers). */
function bigMagnitude(buf: Uint8Array, s: number, e: number): bigint {
  let i = s;
  while (i < e && (isSpace(buf[i]) || buf[i] === 0x2b || buf[i] === 0x2d)) i++;
  let v = 0n;
  while (i < e) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) break;
    v = v * 10n + BigInt(d);
    i++;
  }
  return v;
}

/**
 * memcached 1.6.18's safe_strtol into an int32_t: strtol (64-bit long, ERANGE
 * refused), then truncated to 32 bits as the C assignment does, so
 * 4294967396 is 100 and 99999999999 is 1215752191. Used for exptime and lengths.
 */
export function strtol32(buf: Uint8Array, s: number, e: number): number {
  const m = scan(buf, s, e);
  if (m === -1) {
    parsedOk = false;
    return 0;
  }
  parsedOk = true;
  if (m >= 0) return (scanNeg ? -m : m) | 0;
  const big = bigMagnitude(buf, s, e);
  if (scanNeg ? big > TWO63 : big >= TWO63) {
    parsedOk = false; // ERANGE
    return 0;
  }
  return Number(BigInt.asIntN(32, scanNeg ? -big : big));
}

/**
 * safe_strtoul into a uint32_t: strtoul (64-bit, a '-' negates modulo 2^64), a
 * negative sign refused when the result looks negative as a signed long, then
 * truncated to 32 bits (flags 4294967296 are stored as 0, as memcached does).
 */
export function strtoul32(buf: Uint8Array, s: number, e: number): number {
  const m = scan(buf, s, e);
  if (m === -1) {
    parsedOk = false;
    return 0;
  }
  parsedOk = true;
  if (m >= 0) {
    if (!scanNeg || m === 0) return m % TWO32;
    parsedOk = false; // "-5" is 2^64-5: negative as a long, and has a '-'
    return 0;
  }
  const big = bigMagnitude(buf, s, e);
  if (big >= TWO64) {
    parsedOk = false;
    return 0;
  }
  const v = scanNeg ? (TWO64 - big) % TWO64 : big;
  if (v >= TWO63 && scanNeg) {
    parsedOk = false;
    return 0;
  }
  return Number(v % BigInt(TWO32));
}

/**
 * safe_strtoull as a Number (CAS unique values): exact below 2^53, which is as
 * far as our CAS counter goes; larger values cannot match any item.
 */
export function strtoullNum(buf: Uint8Array, s: number, e: number): number {
  const m = scan(buf, s, e);
  if (m >= 0 && !scanNeg) {
    parsedOk = true;
    return m;
  }
  const v = safeStrtoull(buf, s, e);
  parsedOk = v >= 0n;
  return parsedOk ? Number(v) : 0;
}
