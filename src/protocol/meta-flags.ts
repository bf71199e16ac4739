/**
 * Meta command lines: flags, and the pieces replies are built from.
 *
 * A meta request is `<cm> <key> [<datalen>] <flag>*`, split into Words by the
 * text protocol's tokenizer (text-parse.ts), as memcached's tokenize_command()
 * splits every line. Flags are one byte, optionally followed by a token (`T30`,
 * `Oabc`). MetaFlags.preparse() is memcached's _meta_flag_preparse(): same
 * checks, same order, same error strings, and numbers read by the same safe_strto*
 * rules as the text protocol (cache/numeric.ts), so that a bad request gets the
 * bytes 1.6.18 would send.
 *
 * Nothing here allocates per request: one MetaFlags per connection is reset and
 * refilled for each line. A base64 key is decoded into the MetaFlags' own scratch
 * buffer, never in place: the caller may hand us the
 * same line again (an `ms` whose data has not all arrived).
 */
import { Clock, realtime } from '../cache/clock.js';
import {
  NOT_INT32, NOT_U64, strtol32, strtoul32, strtoullNum, strtoullU64, type U64,
} from '../cache/numeric.js';
import { base64Decode, base64EncodeTo } from './meta-base64.js';
import type { Output } from './output.js';
import type { Words } from './text-parse.js';
import { ERROR } from './wire.js';

/** memcached counts the terminal token too: at most 19 words per meta request. */
export const MFLAG_MAX_OPT_LENGTH = 20;
/** An opaque token (its `O` included) longer than this is refused. */
export const MFLAG_MAX_OPAQUE_LENGTH = 32;
export const KEY_MAX_LENGTH = 250;

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
  /** ma D and J: Numbers below 2^53, BigInts above (no allocation for counters) */
  delta: U64 = 1;
  initial: U64 = 0;
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
  preparse(line: Words, first: number, clock: Clock, isDelete = false): boolean {
    this.reset(line);
    const buf = line.buf;
    const seen = this.seen;
    seen.fill(0);
    const words = line.n;
    for (let i = first; i < words; i++) {
      const s = line.s[i];
      const end = line.e[i];
      const o = buf[s];
      if (o >= 127 || seen[o] !== 0) {
        this.errstr = ERR_DUPLICATE;
        return false;
      }
      seen[o] = 1;
      switch (o) {
        case 0x62: { // b: base64 key
          const n = base64Decode(buf, line.s[1], line.e[1], this.scratch);
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
          const v = strtol32(buf, s + 1, end);
          if (v === NOT_INT32) {
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
          const v = strtoul32(buf, s + 1, end);
          if (v < 0) this.hasError = true;
          else this.clientFlags = v;
          break;
        }
        case 0x43: // C: compare CAS
        case 0x45: { // E (after 1.6.18): explicit new CAS
          const v = strtoullNum(buf, s + 1, end);
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
          const v = strtoullU64(buf, s + 1, end);
          if (v === NOT_U64) {
            this.errstr = ERR_INITIAL;
            this.hasError = true;
          } else {
            this.initial = v;
          }
          break;
        }
        case 0x44: { // D: ma delta
          const v = strtoullU64(buf, s + 1, end);
          if (v === NOT_U64) {
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

  private reset(line: Words): void {
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
    this.delta = 1;
    this.initial = 0;
    this.keyBuf = line.buf;
    this.keyStart = line.s[1];
    this.keyLen = line.e[1] - line.s[1];
    this.errstr = ERR_FORMAT;
  }
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
export function metaToken(out: Output, line: Words, i: number): void {
  out.byte(0x20);
  out.range(line.buf, line.s[i], line.e[i]);
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

/**
 * The checks every mg, md and ma line gets first, in memcached's order: too few
 * tokens (ERROR), key too long, too many tokens (`tooLong`: mg words it
 * differently), then the flags' preparse (its error is `preparseErr`, or the
 * specific one preparse found when that is null). Writes the error and returns
 * false if a check fails.
 */
export function metaPreamble(line: Words, of: MetaFlags, out: Output, clock: Clock, tooLong: Buffer,
  preparseErr: Buffer | null, isDelete = false): boolean {
  let err: Buffer | null = null;
  if (line.ntokens < 3) err = ERROR;
  else if (line.len(1) > KEY_MAX_LENGTH) err = ERR_FORMAT;
  else if (line.ntokens > MFLAG_MAX_OPT_LENGTH) err = tooLong;
  else if (!of.preparse(line, 2, clock, isDelete)) err = preparseErr ?? of.errstr;
  if (err === null) return true;
  out.bytes(err);
  return false;
}

/**
 * Echoes the O (opaque) and k (key) flags of line words [2, words), as memcached
 * does on misses and on md. An opaque past MFLAG_MAX_OPAQUE_LENGTH rewinds the
 * output to `mark`, writes the error instead and returns false.
 */
export function metaEchoOpaqueKey(out: Output, line: Words, of: MetaFlags, mark: number): boolean {
  const words = line.n;
  for (let i = 2; i < words; i++) {
    const f = line.flag(i);
    if (f === 0x4f) {
      if (line.len(i) > MFLAG_MAX_OPAQUE_LENGTH) {
        out.len = mark;
        out.bytes(ERR_OPAQUE);
        return false;
      }
      metaToken(out, line, i);
    } else if (f === 0x6b) {
      metaKey(out, of.keyBuf, of.keyStart, of.keyLen, of.keyBinary);
    }
  }
  return true;
}
