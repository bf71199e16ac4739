/**
 * incr/decr: memcached's do_add_delta over the engine. The value is a decimal
 * 64-bit unsigned number in the item; a result no longer than the old value is
 * written in place and padded with spaces, as memcached does.
 */
import type { Cache } from './engine.js';
import { NIL } from './memory.js';
import { ITEM_CHAINED, W_EXPTIME, W_FLAGS, W_NBYTES } from './item-header.js';
import { EXISTS, NO_MEMORY, NON_NUMERIC, NOT_FOUND, OK, STORED, Status } from './status.js';
import { safeStrtoull, U64_MAX } from './numeric.js';

/**
 * incr/decr on a 64-bit unsigned decimal value, as memcached's do_add_delta: OK
 * with the result in arithValue, NOT_FOUND, NON_NUMERIC, EXISTS (cas given and
 * different) or NO_MEMORY. With `initial` >= 0n a miss creates the item (binary
 * and meta protocols) with that value and `exptime`.
 */
export function arith(c: Cache, key: Uint8Array, ks: number, kl: number, incr: boolean, delta: bigint,
initial: bigint, exptime: number, cas: number): Status {
  const hdr = c.hdr;
  let h = c.peek(key, ks, kl);
  c.lastItem = NIL;
  if (h === NIL) {
    if (incr) c.counters.incr_misses++;
    else c.counters.decr_misses++;
    if (initial < 0n) return NOT_FOUND;
    const digits = initial.toString();
    const st = setDecimal(c, key, ks, kl, digits, 0, exptime);
    if (st !== STORED) return st;
    c.arithValue = initial;
    c.lastItem = c.peek(key, ks, kl);
    return OK;
  }
  if (cas !== 0 && cas !== hdr.cas(h)) return EXISTS;
  const len = hdr.get(h, W_NBYTES);
  if (len === 0 || (hdr.itFlags(h) & ITEM_CHAINED) !== 0) return NON_NUMERIC;
  const u8 = hdr.pageU8(h);
  const vs = hdr.valueByte(h);
  let value = safeStrtoull(u8, vs, vs + len);
  if (value < 0n) return NON_NUMERIC;
  const cls = c.slabs.classOf(h);
  if (incr) {
    value = (value + delta) & U64_MAX;
    c.classCounters.incr_hits[cls]++;
  } else {
    value = delta > value ? 0n : value - delta;
    c.classCounters.decr_hits[cls]++;
  }
  c.arithValue = value;
  const digits = value.toString();
  const res = digits.length;
  if (res <= len && hdr.refcount(h) === 0) {
    // in place, padded with spaces: memcached's well-known incr/decr quirk
    for (let i = 0; i < res; i++) u8[vs + i] = digits.charCodeAt(i);
    u8.fill(0x20, vs + res, vs + len);
    hdr.setCas(h, c.nextCas());
    c.lastItem = h;
    return OK;
  }
  const st = setDecimal(c, key, ks, kl, digits, hdr.get(h, W_FLAGS), -1, hdr.get(h, W_EXPTIME));
  if (st !== STORED) return NO_MEMORY;
  c.lastItem = c.peek(key, ks, kl);
  return OK;
}

/** Stores a decimal string as a value; relExptime >= 0 overrides the wire exptime. */
function setDecimal(c: Cache, key: Uint8Array, ks: number, kl: number, digits: string, flags: number,
exptime: number, relExptime = -1): Status {
  const h = c.alloc(key, ks, kl, flags, exptime < 0 ? 0 : exptime, digits.length);
  if (h === NIL) return c.allocStatus;
  if (relExptime >= 0) c.hdr.set(h, W_EXPTIME, relExptime);
  const u8 = c.hdr.pageU8(h);
  const vs = c.hdr.valueByte(h);
  for (let i = 0; i < digits.length; i++) u8[vs + i] = digits.charCodeAt(i);
  const old = c.peek(key, ks, kl);
  const hv = c.lastHv;
  if (old !== NIL) c.replaceItem(old, h, hv);
  else c.link(h, hv);
  return STORED;
}
