/**
 * Meta command lines: tokens, flags, base64 keys and memcached's number rules.
 *
 * A meta request is `<cm> <key> [<datalen>] <flag>*`. Tokens are split on spaces
 * only (tabs belong to the token), at most MAX_TOKENS - 1 words are seen, and a
 * NUL byte ends the line, all as memcached's tokenize_command() does. Flags are
 * one byte, optionally followed by a token (`T30`, `Oabc`). MetaFlags.preparse()
 * is memcached's _meta_flag_preparse(): same checks, same order, same error
 * strings, so that a bad request gets the bytes 1.6 would send.
 *
 * Nothing here allocates per request: one MetaLine and one MetaFlags per
 * connection are reset and refilled for each line. A base64 key is decoded into
 * the MetaFlags' own scratch buffer, never in place: the caller may hand us the
 * same line again (an `ms` whose data has not all arrived).
 */
import { Clock, realtime } from '../cache/clock.js';
import { safeStrtoull } from '../cache/numeric.js';
import type { Output } from './output.js';

/** memcached's MAX_TOKENS: 23 words, then the rest of the line as one. */
export const MAX_TOKENS = 24;
/** memcached counts the terminal token too: at most 19 words per meta request. */
export const MFLAG_MAX_OPT_LENGTH = 20;
/** An opaque token (its `O` included) longer than this is refused. */
export const MFLAG_MAX_OPAQUE_LENGTH = 32;
export const KEY_MAX_LENGTH = 250;
const INT32_MAX = 0x7fffffff;

const e = (s: string): Buffer => Buffer.from(s + '\r\n', 'latin1');
export const ERR_FORMAT = e('CLIENT_ERROR bad command line format');
export const ERR_BAD_TOKEN = e('CLIENT_ERROR bad token in command line format');
export const ERR_DUPLICATE = e('CLIENT_ERROR duplicate flag');
export const ERR_INVALID_FLAG = e('CLIENT_ERROR invalid flag');
export const ERR_DECODING_KEY = e('CLIENT_ERROR error decoding key');
export const ERR_M_LENGTH = e('CLIENT_ERROR incorrect length for M token');
export const ERR_INITIAL = e('CLIENT_ERROR invalid numeric initial value');
export const ERR_DELTA = e('CLIENT_ERROR invalid numeric delta value');
export const ERR_OPAQUE = e('CLIENT_ERROR opaque token too long');
export const ERR_INVALID_OR_DUP = e('CLIENT_ERROR invalid or duplicate flag');
export const ERROR = e('ERROR');

/** One request line cut into tokens: token i is buf[ts[i], te[i]). */
export class MetaLine {
  buf: Buffer = Buffer.alloc(0);
  readonly ts = new Int32Array(MAX_TOKENS);
  readonly te = new Int32Array(MAX_TOKENS);
  /** memcached's ntokens: the words seen (at most 23) plus the terminal token */
  ntokens = 0;

  tokenize(buf: Buffer, start: number, eol: number): void {
    this.buf = buf;
    const ts = this.ts;
    const te = this.te;
    let n = 0;
    let s = -1;
    let i = start;
    for (; i < eol; i++) {
      const c = buf[i];
      if (c === 0) break; // memcached reads the line as a C string
      if (c === 0x20) {
        if (s >= 0) {
          ts[n] = s;
          te[n] = i;
          n++;
          s = -1;
          if (n === MAX_TOKENS - 1) break;
        }
      } else if (s < 0) {
        s = i;
      }
    }
    if (s >= 0 && n < MAX_TOKENS - 1) {
      ts[n] = s;
      te[n] = i;
      n++;
    }
    this.ntokens = n + 1;
  }

  /** Words on the line (the terminal token not counted). */
  get words(): number {
    return this.ntokens - 1;
  }

  len(i: number): number {
    return this.te[i] - this.ts[i];
  }

  /** First byte of token i (the flag letter). */
  flag(i: number): number {
    return this.buf[this.ts[i]];
  }
}

/** What a request's flags asked for; one per connection, reset per request. */
export class MetaFlags {
  hasError = false;
  /** N T R l h: memcached fetches under the item lock and bumps after answering */
  locked = false;
  noUpdate = false;
  vivify = false;
  value = false;
  setStale = false;
  noReply = false;
  hasCas = false;
  hasCasIn = false;
  newTtl = false;
  keyBinary = false;
  removeVal = false;
  /** M token: the mode byte, 0 when none */
  mode = 0;
  /** T, N, R: rel_time as realtime() makes it */
  exptime = 0;
  autovivExptime = 0;
  recacheTime = 0;
  /** F */
  clientFlags = 0;
  /** C: compare CAS; E: CAS to give the item. (Above 2^53 no item can match anyway.) */
  reqCas = 0;
  casIn = 0;
  /** ma D and J */
  delta = 1n;
  initial = 0n;
  /** the key: the request's bytes, or the decoded base64 in `scratch` */
  keyBuf: Buffer = Buffer.alloc(0);
  keyStart = 0;
  keyLen = 0;
  errstr: Buffer = ERR_FORMAT;
  readonly scratch = Buffer.alloc(KEY_MAX_LENGTH);
  private readonly seen = new Uint8Array(128);

  /**
   * memcached's _meta_flag_preparse over tokens [first, words) (`x` only for md).
   * False on a bad
   * request, with `errstr` the reply; value errors keep going (a later flag may
   * overwrite errstr, as in memcached), unknown and duplicate flags stop at once.
   */
  preparse(line: MetaLine, first: number, clock: Clock, isDelete = false): boolean {
    this.reset(line);
    const buf = line.buf;
    const seen = this.seen;
    seen.fill(0);
    const words = line.words;
    for (let i = first; i < words; i++) {
      const s = line.ts[i];
      const end = line.te[i];
      const o = buf[s];
      if (o >= 127 || seen[o] !== 0) {
        this.errstr = ERR_DUPLICATE;
        return false;
      }
      seen[o] = 1;
      switch (o) {
        case 0x62: { // b: base64 key
          const n = base64Decode(buf, line.ts[1], line.te[1], this.scratch);
          if (n === 0) {
            this.errstr = ERR_DECODING_KEY;
            this.hasError = true;
          }
          this.keyBuf = this.scratch;
          this.keyStart = 0;
          this.keyLen = n;
          this.keyBinary = true;
          break;
        }
        case 0x4e: // N: vivify on miss with this TTL
        case 0x54: // T: new TTL
        case 0x52: { // R: recache when TTL below this
          this.locked = true;
          const v = safeStrtol(buf, s + 1, end);
          if (Number.isNaN(v)) {
            this.errstr = ERR_BAD_TOKEN;
            this.hasError = true;
            break;
          }
          const rel = realtime(clock, v);
          if (o === 0x4e) {
            this.vivify = true;
            this.autovivExptime = rel;
          } else if (o === 0x54) {
            this.exptime = rel;
            this.newTtl = true;
          } else {
            this.recacheTime = rel;
          }
          break;
        }
        case 0x6c: // l
        case 0x68: // h
          this.locked = true;
          break;
        case 0x4f: // O
        case 0x50: // P (proxy)
        case 0x4c: // L (proxy)
        case 0x6b: // k
        case 0x73: // s
        case 0x74: // t
        case 0x63: // c
        case 0x66: // f
          break;
        case 0x76: // v
          this.value = true;
          break;
        case 0x75: // u
          this.noUpdate = true;
          break;
        case 0x71: // q
          this.noReply = true;
          break;
        case 0x78: // x (md only, after 1.6.18; 1.6.18's mg/ms/ma refuse it): keep the item, drop its value
          if (!isDelete) {
            this.errstr = ERR_INVALID_FLAG;
            return false;
          }
          this.removeVal = true;
          break;
        case 0x46: { // F: client flags (memcached's errstr stays as it was)
          const v = safeStrtoul32(buf, s + 1, end);
          if (v < 0) this.hasError = true;
          else this.clientFlags = v;
          break;
        }
        case 0x43: // C: compare CAS
        case 0x45: { // E (after 1.6.18): explicit new CAS
          const v = casToken(buf, s + 1, end);
          if (v < 0) {
            this.errstr = ERR_BAD_TOKEN;
            this.hasError = true;
          } else if (o === 0x43) {
            this.reqCas = v;
            this.hasCas = true;
          } else {
            this.casIn = v;
            this.hasCasIn = true;
          }
          break;
        }
        case 0x4d: // M: mode, exactly one byte
          if (end - s !== 2) {
            this.errstr = ERR_M_LENGTH;
            this.hasError = true;
          } else {
            this.mode = buf[s + 1];
          }
          break;
        case 0x4a: { // J: ma initial value
          const v = safeStrtoull(buf, s + 1, end);
          if (v < 0n) {
            this.errstr = ERR_INITIAL;
            this.hasError = true;
          } else {
            this.initial = v;
          }
          break;
        }
        case 0x44: { // D: ma delta
          const v = safeStrtoull(buf, s + 1, end);
          if (v < 0n) {
            this.errstr = ERR_DELTA;
            this.hasError = true;
          } else {
            this.delta = v;
          }
          break;
        }
        case 0x49: // I: invalidate
          this.setStale = true;
          break;
        default:
          this.errstr = ERR_INVALID_FLAG;
          return false;
      }
    }
    return !this.hasError;
  }

  private reset(line: MetaLine): void {
    this.hasError = false;
    this.locked = false;
    this.noUpdate = false;
    this.vivify = false;
    this.value = false;
    this.setStale = false;
    this.noReply = false;
    this.hasCas = false;
    this.hasCasIn = false;
    this.newTtl = false;
    this.keyBinary = false;
    this.removeVal = false;
    this.mode = 0;
    this.exptime = 0;
    this.autovivExptime = 0;
    this.recacheTime = 0;
    this.clientFlags = 0;
    this.reqCas = 0;
    this.casIn = 0;
    this.delta = 1n;
    this.initial = 0n;
    this.keyBuf = line.buf;
    this.keyStart = line.ts[1];
    this.keyLen = line.te[1] - line.ts[1];
    this.errstr = ERR_FORMAT;
  }
}

// ------------------------------------------------------------------ numbers

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * memcached's safe_strtol: a signed decimal in buf[start, end), NaN if refused.
 * strtol's leading space and sign are allowed; above INT32_MAX is refused, below
 * INT32_MIN wraps as the C cast does.
 */
export function safeStrtol(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end && isSpace(buf[i])) i++;
  let neg = false;
  if (i < end && (buf[i] === 0x2b || buf[i] === 0x2d)) {
    neg = buf[i] === 0x2d;
    i++;
  }
  const ds = i;
  let v = 0;
  while (i < end) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
    i++;
  }
  if (i === ds) return NaN;
  if (i < end && !isSpace(buf[i])) return NaN;
  if (i - ds > 15) {
    // past 2^53: strtol's ERANGE is at 2^63; between that and int32 the C cast wraps
    let big = BigInt(Buffer.from(buf.subarray(ds, i)).toString('latin1'));
    if (neg) big = -big;
    if (big > (1n << 63n) - 1n || big < -(1n << 63n) || big > BigInt(INT32_MAX)) return NaN;
    return Number(BigInt.asIntN(32, big));
  }
  if (neg) v = -v;
  if (v > INT32_MAX) return NaN;
  return v < -0x80000000 ? Number(BigInt.asIntN(32, BigInt(v))) : v;
}

/**
 * memcached's safe_strtoul on a 64-bit host: strtoul's rules (a '-' that wraps
 * into the signed range is refused), then the store into a uint32 keeps the low
 * 32 bits. -1 if refused.
 */
export function safeStrtoul32(buf: Uint8Array, start: number, end: number): number {
  // the common case: a few digits, no sign, no BigInt
  if (end - start <= 9 && end > start) {
    let v = 0;
    let i = start;
    for (; i < end; i++) {
      const d = buf[i] - 0x30;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
    }
    if (i === end) return v;
  }
  const v = safeStrtoull(buf, start, end);
  if (v < 0n) return -1;
  return Number(v & 0xffffffffn);
}

/**
 * A CAS token (memcached's safe_strtoull) as a Number, -1 if refused. Plain
 * digits below 2^53 skip the BigInt; larger values can't match any CAS we hand
 * out, so their rounding is harmless.
 */
function casToken(buf: Uint8Array, start: number, end: number): number {
  if (end > start && end - start <= 15) {
    let v = 0;
    let i = start;
    for (; i < end; i++) {
      const d = buf[i] - 0x30;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
    }
    if (i === end) return v;
  }
  const v = safeStrtoull(buf, start, end);
  return v < 0n ? -1 : Number(v);
}

// ------------------------------------------------------------------ base64

const B64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');
/** value of each byte, 0x80 for bytes that are not base64 (and skipped) */
const B64_DECODE = new Uint8Array(256).fill(0x80);
for (let i = 0; i < 64; i++) B64_DECODE[B64[i]] = i;
B64_DECODE[0x3d] = 0; // '='

/**
 * memcached's base64_decode (Jouni Malinen's): bytes that are not base64 are
 * skipped, the rest must come in fours, decoding stops after the first padded
 * block, bad padding fails. Returns the decoded length, 0 on failure.
 */
export function base64Decode(src: Uint8Array, s: number, e: number, out: Uint8Array): number {
  let count = 0;
  for (let i = s; i < e; i++) if (B64_DECODE[src[i]] !== 0x80) count++;
  if (count === 0 || count % 4 !== 0) return 0;
  if ((count / 4) * 3 > out.length) return 0;
  let pos = 0;
  let n = 0;
  let pad = 0;
  let b0 = 0;
  let b1 = 0;
  let b2 = 0;
  for (let i = s; i < e; i++) {
    const c = src[i];
    const t = B64_DECODE[c];
    if (t === 0x80) continue;
    if (c === 0x3d) pad++;
    if (n === 0) b0 = t;
    else if (n === 1) b1 = t;
    else if (n === 2) b2 = t;
    n++;
    if (n === 4) {
      out[pos++] = ((b0 << 2) | (b1 >> 4)) & 0xff;
      out[pos++] = ((b1 << 4) | (b2 >> 2)) & 0xff;
      out[pos++] = ((b2 << 6) | t) & 0xff;
      n = 0;
      if (pad) {
        if (pad === 1) pos--;
        else if (pad === 2) pos -= 2;
        else return 0;
        break;
      }
    }
  }
  return pos;
}

/** Standard base64 with padding and no line breaks, written into out. */
export function base64EncodeTo(out: Output, src: Uint8Array, s: number, e: number): void {
  out.reserve(Math.ceil((e - s) / 3) * 4);
  const b = out.buf;
  let p = out.len;
  let i = s;
  for (; e - i >= 3; i += 3) {
    const x = (src[i] << 16) | (src[i + 1] << 8) | src[i + 2];
    b[p++] = B64[x >> 18];
    b[p++] = B64[(x >> 12) & 63];
    b[p++] = B64[(x >> 6) & 63];
    b[p++] = B64[x & 63];
  }
  if (e - i === 1) {
    const x = src[i] << 16;
    b[p++] = B64[x >> 18];
    b[p++] = B64[(x >> 12) & 63];
    b[p++] = 0x3d;
    b[p++] = 0x3d;
  } else if (e - i === 2) {
    const x = (src[i] << 16) | (src[i + 1] << 8);
    b[p++] = B64[x >> 18];
    b[p++] = B64[(x >> 12) & 63];
    b[p++] = B64[(x >> 6) & 63];
    b[p++] = 0x3d;
  }
  out.len = p;
}

// ------------------------------------------------------------------ reply pieces

/** ` <c>`: memcached's META_CHAR */
export function metaChar(out: Output, c: number): void {
  out.reserve(2);
  out.buf[out.len++] = 0x20;
  out.buf[out.len++] = c;
}

/** ` k<key>`, or ` k<base64> b` for a binary key: memcached's META_KEY */
export function metaKey(out: Output, key: Uint8Array, ks: number, kl: number, binary: boolean): void {
  metaChar(out, 0x6b);
  if (!binary) {
    out.range(key, ks, ks + kl);
    return;
  }
  base64EncodeTo(out, key, ks, ks + kl);
  metaChar(out, 0x62);
}

/** ` O<opaque>`: the whole token echoed back. */
export function metaToken(out: Output, line: MetaLine, i: number): void {
  out.byte(0x20);
  out.range(line.buf, line.ts[i], line.te[i]);
}

/** A TTL as memcached prints it: -1 for none, else rel seconds left as a uint32. */
export function metaTtl(out: Output, exptime: number, now: number): void {
  if (exptime === 0) {
    out.byte(0x2d);
    out.byte(0x31);
  } else {
    out.decimal((exptime - now) >>> 0);
  }
}
