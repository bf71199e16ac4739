/**
 * ma (meta arithmetic), as memcached's process_marithmetic_command:
 *
 *   ma <key> <flag>*  ->  HD <flag>*\r\n | VA <len> <flag>*\r\n<number>\r\n | NF | EX
 *
 * D is the delta (default 1), MI/M+ increment (default), MD/M- decrement; N
 * creates a missing item holding J (default 0) with N's TTL, C compares the CAS,
 * T sets a TTL on success. Flags are applied and printed in request order, so
 * `t T10` shows the TTL before T changes it. q hides the reply of a successful
 * incr/decr (HD and VA alike) but, as in 1.6.18, not of an auto-created item.
 */
import { NIL } from '../cache/engine.js';
import { EXISTS, NON_NUMERIC, NOT_FOUND, OK } from '../cache/status.js';
import { setCasIn, vivifyNumber } from '../cache/meta-ops.js';
import {
  ERR_INVALID_OR_DUP, ERR_OPAQUE, MFLAG_MAX_OPAQUE_LENGTH, metaChar, metaKey, metaToken, metaTtl, metaPreamble, metaEchoOpaqueKey,
} from './meta-flags.js';
import type { MetaCommands } from './meta.js';
import { CRLF, EX, HD, NF, VA } from './wire.js';

const err = (s: string): Buffer => Buffer.from(s + '\r\n');
const ERR_TOO_LONG = err('CLIENT_ERROR options flags too long');
const ERR_MODE = err('CLIENT_ERROR invalid mode for ma M token');
const ERR_NON_NUMERIC = err('CLIENT_ERROR cannot increment or decrement non-numeric value');
const ERR_NO_MEMORY = err('SERVER_ERROR out of memory');
const ERR_VIVIFY_MEMORY = err('SERVER_ERROR Out of memory allocating new item');

export function metaArith(m: MetaCommands): void {
  const line = m.line;
  const of = m.flags;
  const out = m.conn.out;
  const cache = m.ctx.cache;
  if (!metaPreamble(line, of, out, cache.clock, ERR_TOO_LONG, ERR_INVALID_OR_DUP)) return;
  let incr: boolean;
  switch (of.mode) {
    case 0:
    case 0x49: // I
    case 0x2b: // +
      incr = true;
      break;
    case 0x44: // D
    case 0x2d: // -
      incr = false;
      break;
    default:
      out.bytes(ERR_MODE);
      return;
  }
  const key = of.keyBuf;
  const ks = of.keyStart;
  const kl = of.keyLen;

  let h = NIL;
  let created = false;
  let miss: Buffer | null = null;
  const hv = cache.keyHash(key, ks, kl); // one hash for the lookup here and the one in arith
  // memcached looks the key up once (do_add_delta), or twice when it vivifies a
  // miss (then do_store_item looks again): the watch log shows exactly those
  const logging = cache.logging;
  if (!of.vivify) cache.logging = false;
  const found = cache.peek(key, ks, kl, hv);
  cache.logging = logging && (found === NIL || !of.vivify);
  if (of.vivify && found === NIL) {
    // memcached creates it without counting an incr/decr miss
    // BigInt(): vivifyNumber's type; a creation, not the counter's hot path
    h = vivifyNumber(cache, key, ks, kl, BigInt(of.initial), of.hasCasIn, of.casIn);
    if (h === NIL) {
      out.bytes(ERR_VIVIFY_MEMORY);
      return;
    }
    created = true;
  } else {
    const st = cache.arith(key, ks, kl, incr, of.delta, m.arithRes, -1, 0, of.hasCas ? of.reqCas : 0, hv);
    cache.logging = logging;
    if (st === OK) {
      h = m.arithRes.item;
      if (of.hasCasIn) setCasIn(cache, h, of.casIn);
    } else if (st === NOT_FOUND) {
      miss = NF;
    } else if (st === EXISTS) {
      miss = EX;
    } else if (st === NON_NUMERIC) {
      out.bytes(ERR_NON_NUMERIC);
      return;
    } else {
      out.bytes(ERR_NO_MEMORY);
      return;
    }
  }

  const mark = out.mark();
  const words = line.n;
  if (h === NIL) {
    out.bytes(miss ?? NF);
    if (!metaEchoOpaqueKey(out, line, of, mark)) return;
    out.bytes(CRLF);
    return;
  }

  // memcached's do_add_delta hands back the item it found: when the number grew
  // past it, that item was replaced, and T and N change the unlinked old one.
  // So they take effect only in place (or on a created item), though t shows them.
  const live = created || h === found;
  let exptime = cache.exptime(h);
  // the number, without the spaces an in-place decr may have left behind it
  // a number is never chained: its value is one part
  const u8 = cache.partU8(h);
  const vs = cache.partStart(h, h);
  const vend = vs + cache.valueLength(h);
  let digitsEnd = vs;
  while (digitsEnd < vend && u8[digitsEnd] !== 0x20) digitsEnd++;
  if (of.value) {
    out.bytes(VA);
    out.decimal(digitsEnd - vs);
  } else {
    out.bytes(HD);
  }
  for (let i = 2; i < words; i++) {
    switch (line.flag(i)) {
      case 0x63: // c
        metaChar(out, 0x63);
        out.decimal(cache.cas(h));
        break;
      case 0x74: // t
        metaChar(out, 0x74);
        metaTtl(out, exptime, cache.clock.now);
        break;
      case 0x54: // T
        exptime = of.exptime;
        if (live) cache.setExptime(h, exptime);
        break;
      case 0x4e: // N
        if (created) {
          exptime = of.autovivExptime;
          cache.setExptime(h, exptime);
        }
        break;
      case 0x4f: // O
        if (line.len(i) > MFLAG_MAX_OPAQUE_LENGTH) {
          out.len = mark;
          out.bytes(ERR_OPAQUE);
          return;
        }
        metaToken(out, line, i);
        break;
      case 0x6b: // k
        metaKey(out, key, ks, kl, of.keyBinary);
        break;
    }
  }
  if (of.value) {
    out.bytes(CRLF);
    out.range(u8, vs, digitsEnd);
  }
  if (of.noReply && !created) out.len = mark;
  else out.bytes(CRLF);
}
