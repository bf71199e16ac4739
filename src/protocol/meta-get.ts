/**
 * mg (meta get) and me (meta debug), as memcached's process_mget_command and
 * process_meta_command answer them.
 *
 *   mg <key> <flag>*   ->  VA <len> <flag>*\r\n<data>\r\n  (with v)
 *                          HD <flag>*\r\n                    (hit, no v)
 *                          EN\r\n                            (miss; q hides it)
 *
 * Returned flags come in request order, then Z, X, W (win already sent, stale,
 * you win the recache). Stats move as memcached's do: a hit counts get_cmds and
 * get_hits (or, with T, touch_cmds and touch_hits), a miss get_cmds and
 * get_misses, whatever the flags.
 */
import { NIL } from '../cache/engine.js';
import {
  FLAG_W, FLAG_X, FLAG_Z, keyIsBinary, recacheDue, recacheFlags, vivify,
} from '../cache/meta-ops.js';
import {
  ERR_FORMAT, ERR_OPAQUE, KEY_MAX_LENGTH, MFLAG_MAX_OPAQUE_LENGTH, metaChar, metaKey, metaToken, metaTtl, metaPreamble, metaEchoOpaqueKey,
} from './meta-flags.js';
import { base64Decode, base64EncodeTo } from './meta-base64.js';
import type { MetaCommands } from './meta.js';
import { CRLF, HD, VA } from './wire.js';

const EN_CRLF = Buffer.from('EN\r\n');
const EN = Buffer.from('EN');
const ME = Buffer.from('ME ');
const ERR_MG_TOO_LONG = Buffer.from('CLIENT_ERROR options flags are too long\r\n');

export function metaGet(m: MetaCommands): void {
  const line = m.line;
  const of = m.flags;
  const out = m.conn.out;
  const cache = m.ctx.cache;
  if (!metaPreamble(line, of, out, cache.clock, ERR_MG_TOO_LONG, null)) return;
  const key = of.keyBuf;
  const ks = of.keyStart;
  const kl = of.keyLen;
  const words = line.n;
  const counters = cache.counters;

  let h = cache.peek(key, ks, kl);
  let created = false;
  if (h === NIL && of.vivify) {
    h = vivify(cache, key, ks, kl, of.hasCasIn, of.casIn);
    created = h !== NIL;
  }

  const mark = out.mark();
  if (h === NIL) {
    counters.get_misses++;
    counters.get_cmds++;
    out.bytes(EN);
    if (!metaEchoOpaqueKey(out, line, of, mark)) return;
    if (of.noReply) out.len = mark; // q: a miss says nothing
    else out.bytes(CRLF);
    return;
  }

  const now = cache.clock.now;
  const nbytes = cache.valueLength(h);
  if (of.value) {
    out.bytes(VA);
    out.decimal(nbytes);
  } else {
    out.bytes(HD);
  }
  let won = false;
  let ttlSet = false;
  for (let i = 2; i < words; i++) {
    switch (line.flag(i)) {
      case 0x54: // T: touch
        ttlSet = true;
        cache.setExptime(h, of.exptime);
        break;
      case 0x4e: // N: a vivified item gets its TTL, and its creator the win
        if (created) {
          cache.setExptime(h, of.autovivExptime);
          won = true;
        }
        break;
      case 0x52: // R
        if (!created && recacheDue(cache, h, of.recacheTime)) won = true;
        break;
      case 0x73: // s
        metaChar(out, 0x73);
        out.decimal(nbytes);
        break;
      case 0x74: // t
        metaChar(out, 0x74);
        metaTtl(out, cache.exptime(h), now);
        break;
      case 0x63: // c
        metaChar(out, 0x63);
        out.decimal(cache.cas(h));
        break;
      case 0x66: // f
        metaChar(out, 0x66);
        out.decimal(cache.flags(h));
        break;
      case 0x6c: // l: seconds since last access, before this one counts
        metaChar(out, 0x6c);
        out.decimal((now - cache.lastAccess(h)) >>> 0);
        break;
      case 0x68: // h: fetched before this request?
        metaChar(out, 0x68);
        out.byte(cache.fetched(h) ? 0x31 : 0x30);
        break;
      case 0x4f: // O
        if (line.len(i) > MFLAG_MAX_OPAQUE_LENGTH) {
          out.len = mark;
          out.bytes(ERR_OPAQUE);
          // unlocked, memcached had bumped the item while fetching it
          if (!of.locked && !of.noUpdate) cache.bump(h);
          return;
        }
        metaToken(out, line, i);
        break;
      case 0x6b: // k: the item's key, base64 if it was stored that way
        metaKey(out, key, ks, kl, keyIsBinary(cache, h));
        break;
    }
  }
  const r = recacheFlags(cache, h, won);
  if (r & FLAG_Z) metaChar(out, 0x5a);
  if (r & FLAG_X) metaChar(out, 0x58);
  if (r & FLAG_W) metaChar(out, 0x57);
  out.bytes(CRLF);
  if (of.value) {
    out.value(h);
    out.bytes(CRLF);
  }
  // bump after answering, so h and l report the state before this fetch
  if (!of.noUpdate) cache.bump(h);
  const cls = cache.classOf(h);
  if (ttlSet) {
    counters.touch_cmds++;
    cache.classCounters.touch_hits[cls]++;
  } else {
    cache.classCounters.get_hits[cls]++;
    counters.get_cmds++;
  }
}

/**
 * me <key> [b]: `ME <key> exp=.. la=.. cas=.. fetch=yes|no cls=.. size=..` or EN.
 * exp is memcached's (now - exptime), negative while the item lives; cls and
 * size are this engine's slab class and item bytes.
 */
export function metaDebug(m: MetaCommands): void {
  const line = m.line;
  const out = m.conn.out;
  const cache = m.ctx.cache;
  if (line.ntokens < 3 || line.len(1) > KEY_MAX_LENGTH) {
    out.bytes(ERR_FORMAT);
    return;
  }
  let key: Uint8Array = line.buf;
  let ks = line.s[1];
  let kl = line.len(1);
  if (line.ntokens >= 4 && line.len(2) === 1 && line.flag(2) === 0x62) {
    const scratch = m.flags.scratch;
    kl = base64Decode(line.buf, ks, line.e[1], scratch);
    if (kl === 0) {
      out.bytes(ERR_FORMAT);
      return;
    }
    key = scratch;
    ks = 0;
  }
  const h = cache.peek(key, ks, kl);
  if (h === NIL) {
    out.bytes(EN_CRLF);
  } else {
    const now = cache.clock.now;
    const exp = cache.exptime(h);
    out.bytes(ME);
    if (keyIsBinary(cache, h)) base64EncodeTo(out, key, ks, ks + kl);
    else out.range(key, ks, ks + kl);
    out.text(' exp=');
    out.decimal(exp === 0 ? -1 : (now - exp) | 0);
    out.text(' la=');
    out.decimal((now - cache.lastAccess(h)) >>> 0);
    out.text(' cas=');
    out.decimal(cache.cas(h));
    out.text(cache.fetched(h) ? ' fetch=yes cls=' : ' fetch=no cls=');
    out.decimal(cache.classOf(h));
    out.text(' size=');
    out.decimal(cache.itemSize(h));
    out.bytes(CRLF);
  }
  m.ctx.counters.cmd_meta++;
}
