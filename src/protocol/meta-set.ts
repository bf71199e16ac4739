/**
 * ms (meta set), as memcached's process_mset_command + complete_nread_ascii:
 *
 *   ms <key> <datalen> <flag>*\r\n<data>\r\n  ->  HD|NS|EX|NF <flag>*\r\n
 *
 * Modes (M): S set (default), E add, A append, P prepend, R replace; a C (compare
 * CAS) turns set and replace into cas. With I, a CAS older than the item's still
 * stores, but as a stale item. q hides only HD.
 *
 * A data block up to STREAM_MIN is waited for whole (-1) before anything happens,
 * so a line handed back to us again is parsed afresh with no side effects done
 * twice; a larger one is streamed into its item as it arrives (meta.ts
 * beginStream), and this function then runs once more over a copy of the line.
 * Errors found before the length is known (key too long, too many tokens, a bad
 * length) consume only the line, so the data block is then read as a command,
 * exactly as memcached does; errors after it (bad flags, bad mode, too large)
 * swallow the data block.
 */
import { NIL } from '../cache/engine.js';
import {
  EXISTS, NO_MEMORY, NOT_FOUND, NOT_STORED, NREAD_ADD, NREAD_APPEND, NREAD_CAS, NREAD_PREPEND, NREAD_REPLACE,
  NREAD_SET, STORED, TOO_LARGE, type Status, type StoreMode,
} from '../cache/status.js';
import { markKeyBinary, metaStore } from '../cache/meta-ops.js';
import {
  ERR_FORMAT, ERR_OPAQUE, KEY_MAX_LENGTH, MFLAG_MAX_OPAQUE_LENGTH, MFLAG_MAX_OPT_LENGTH,
  metaChar, metaKey, metaToken,
} from './meta-flags.js';
import { NOT_INT32, strtol32 } from '../cache/numeric.js';
import type { MetaCommands } from './meta.js';
import { CRLF, ERROR, EX, HD, NF } from './wire.js';

const INT32_MAX = 0x7fffffff;
/** Blocks up to this size are waited for whole; larger ones stream into their item. */
const STREAM_MIN = 16 * 1024;
const NS = Buffer.from('NS');
const err = (s: string): Buffer => Buffer.from(s + '\r\n');
const ERR_TOO_LONG = err('CLIENT_ERROR options flags too long');
const ERR_MODE = err('CLIENT_ERROR invalid mode for ms M token');
const ERR_BAD_CHUNK = err('CLIENT_ERROR bad data chunk');
const ERR_TOO_LARGE = err('SERVER_ERROR object too large for cache');
const ERR_NO_MEMORY = err('SERVER_ERROR out of memory storing object');
const ERR_UNHANDLED = err('SERVER_ERROR Unhandled storage type.');

/** Returns the index past the line and its data block, or -1 to wait for more bytes. */
export function metaSet(m: MetaCommands, next: number, end: number): number {
  const line = m.line;
  const of = m.flags;
  const out = m.conn.out;
  const cache = m.ctx.cache;
  const buf = line.buf;
  if (line.ntokens < 3) {
    out.bytes(ERROR);
    return next;
  }
  if (line.len(1) > KEY_MAX_LENGTH || line.ntokens === 3) {
    out.bytes(ERR_FORMAT);
    return next;
  }
  if (line.ntokens > MFLAG_MAX_OPT_LENGTH) {
    out.bytes(ERR_TOO_LONG);
    return next;
  }
  // memcached's safe_strtol: a C long stored into an int32, so 4294967299 is 3
  const vlen = strtol32(buf, line.s[2], line.e[2]);
  if (vlen === NOT_INT32 || vlen < 0 || vlen > INT32_MAX - 2) {
    out.bytes(ERR_FORMAT);
    return next;
  }
  const dataEnd = next + vlen + 2;
  const complete = dataEnd <= end;

  // errors the line alone shows are answered and the data block swallowed
  let err: Buffer | null = null;
  let mode = NREAD_SET;
  if (!of.preparse(line, 3, cache.clock)) {
    err = of.errstr;
  } else {
    let opaqueTooLong = false;
    for (let i = 3; i < line.n; i++) {
      if (line.flag(i) === 0x4f && line.len(i) > MFLAG_MAX_OPAQUE_LENGTH) opaqueTooLong = true;
    }
    switch (of.mode) {
      case 0:
      case 0x53: mode = NREAD_SET; break; // S
      case 0x45: mode = NREAD_ADD; break; // E
      case 0x41: mode = NREAD_APPEND; break; // A
      case 0x50: mode = NREAD_PREPEND; break; // P
      case 0x52: mode = NREAD_REPLACE; break; // R
      default: err = ERR_MODE;
    }
    // a compare CAS makes set and replace a cas; add ignores it; append/prepend check it
    if (of.hasCas && (mode === NREAD_SET || mode === NREAD_REPLACE)) mode = NREAD_CAS;
    if (err === null && opaqueTooLong) err = ERR_OPAQUE;
  }
  if (!complete) {
    // a caller that can't stream a swallow gets -1 and hands us the line again
    if (!m.streaming) return -1;
    if (err === null) {
      if (vlen <= cache.itemSizeMax) {
        // a storable block: wait for a small one, stream a large one into its item
        return vlen + 2 <= STREAM_MIN ? -1 : m.beginStream(buf, next, end, vlen);
      }
      // surely too large: answer now and discard the block as it comes
      tooLarge(m, of.keyBuf, of.keyStart, of.keyLen, mode);
      return m.swallow(dataEnd, end);
    }
  }
  if (err !== null) {
    out.bytes(err);
    return m.swallow(dataEnd, end);
  }
  const words = line.n;

  const key = of.keyBuf;
  const ks = of.keyStart;
  const kl = of.keyLen;
  let exptime = of.exptime;
  if (of.vivify && (mode === NREAD_APPEND || mode === NREAD_PREPEND)) {
    // N (after 1.6.18): append/prepend to a missing item stores it, with N's TTL
    exptime = of.autovivExptime;
    if (cache.peek(key, ks, kl) === NIL) mode = NREAD_ADD;
  }

  // a streamed block (meta.ts beginStream) comes back here with its item filled
  const streamed = m.pendItem;
  const h = streamed !== NIL ? streamed : cache.alloc(key, ks, kl, of.clientFlags, 0, vlen);
  if (h === NIL) {
    if (!cache.itemSizeOk(kl, vlen)) {
      tooLarge(m, key, ks, kl, mode);
    } else {
      out.bytes(ERR_NO_MEMORY);
      m.ctx.counters.store_no_memory++;
      logRefused(m, key, ks, kl, NO_MEMORY, mode);
      dropOld(m, key, ks, kl);
    }
    return dataEnd;
  }
  cache.setExptime(h, exptime);
  if (streamed === NIL) cache.writeValue(h, 0, buf, next, next + vlen);
  const badChunk = streamed !== NIL ? m.pendBadChunk : buf[next + vlen] !== 0x0d || buf[next + vlen + 1] !== 0x0a;
  if (badChunk) {
    cache.classCounters.cmd_set[cache.classOf(h)]++;
    cache.release(h);
    out.bytes(ERR_BAD_CHUNK);
    return dataEnd;
  }
  if (of.keyBinary) markKeyBinary(cache, h);

  const res = m.stored;
  const st = metaStore(cache, res, h, mode, of.reqCas, of.setStale && mode === NREAD_CAS, of.hasCasIn, of.casIn, key, ks, kl);
  const mark = out.mark();
  switch (st) {
    case STORED: out.bytes(HD); break;
    case EXISTS: out.bytes(EX); break;
    case NOT_FOUND: out.bytes(NF); break;
    case NOT_STORED: out.bytes(NS); break;
    default:
      out.bytes(ERR_UNHANDLED);
      return dataEnd;
  }
  const stored = st === STORED ? res.item : NIL;
  for (let i = 3; i < words; i++) {
    switch (line.flag(i)) {
      case 0x4f: // O
        metaToken(out, line, i);
        break;
      case 0x6b: // k
        metaKey(out, key, ks, kl, of.keyBinary);
        break;
      case 0x63: // c: the stored item's CAS, 0 when nothing was stored
        metaChar(out, 0x63);
        out.decimal(stored !== NIL ? cache.cas(stored) : 0);
        break;
      case 0x73: // s (after 1.6.18): the stored size, after append/prepend too
        metaChar(out, 0x73);
        out.decimal(stored !== NIL ? cache.valueLength(stored) : vlen);
        break;
    }
  }
  if (st === STORED && of.noReply) out.len = mark; // q hides HD only
  else out.bytes(CRLF);
  return dataEnd;
}

function tooLarge(m: MetaCommands, key: Uint8Array, ks: number, kl: number, mode: StoreMode): void {
  m.conn.out.bytes(ERR_TOO_LARGE);
  m.ctx.counters.store_too_large++;
  logRefused(m, key, ks, kl, TOO_LARGE, mode);
  dropOld(m, key, ks, kl);
}

/** watch's item_store line for a store refused before it reached the engine, as memcached logs it. */
function logRefused(m: MetaCommands, key: Uint8Array, ks: number, kl: number, status: Status, mode: StoreMode): void {
  const logs = m.ctx.logs;
  if (logs !== undefined && logs.watching) logs.storeRefused(key, ks, kl, status, mode);
}

/** A failed ms drops the old value rather than leave stale data behind, as memcached does. */
function dropOld(m: MetaCommands, key: Uint8Array, ks: number, kl: number): void {
  m.ctx.cache.drop(key, ks, kl);
}
