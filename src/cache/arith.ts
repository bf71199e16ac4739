/**
 * incr/decr: memcached's do_add_delta over the engine. The value is a decimal
 * 64-bit unsigned number in the item; a result no longer than the old value is
 * written in place and padded with spaces, as memcached does.
 *
 * Counters are a hot path, so the common case allocates nothing: the item's
 * digits are parsed straight into a Number, added in Numbers, and written back as
 * bytes. Only a value, delta or result at or above 2^53 (where a Number is no
 * longer exact) takes the BigInt path, which keeps exact 64-bit semantics.
 */
import type { Cache } from './engine.js';
import { NIL } from './memory.js';
import { StoreResult } from './results.js';
import { ITEM_CHAINED, W_EXPTIME, W_FLAGS, W_NBYTES } from './item-header.js';
import { EXISTS, NO_MEMORY, NON_NUMERIC, NOT_FOUND, OK, STORED, Status } from './status.js';
import {
  IS_U64, NOT_U64, type NumberOut, putDecimal, safeStrtoull, strtoullInto, type U64, U64_MAX,
} from './numeric.js';

/**
 * What incr/decr uses of the engine: look-ups, allocation, linking and counters.
 * arith() is given no more, so what it may touch is visible here.
 */
export type ArithEngine = Pick<Cache, 'hdr' | 'slabs' | 'counters' | 'classCounters' | 'peek' | 'alloc'
  | 'allocFailure' | 'keyHash' | 'replaceItem' | 'link' | 'nextCas' | 'policy'>;

const TWO32 = 4294967296;
/** 2^64-1 has 20 digits */
const U64_DIGITS_MAX = 20;

/**
 * What a successful arith() hands back: the new value's decimal digits (what text
 * replies print), the value itself, and the item holding it (`item`). The caller
 * owns it and passes it in (one per connection, reused: nothing per request).
 *
 * NOTE: numbers from 2^31 on are doubles to V8, and a double passed to or returned
 * from a call that is not inlined is boxed in a fresh HeapNumber. So the value
 * stays in `value` (a double field, updated in place) and the methods read it
 * there rather than take it as an argument.
 */
export class ArithResult extends StoreResult implements NumberOut {
  /** the new value's decimal digits in digits[0, len) */
  readonly digits = new Uint8Array(U64_DIGITS_MAX);
  len = 0;
  /** the value below 2^53 (while arith works: the old one); -1 when it is in `big` */
  value = 0.5; // 0.5: a double field from the start
  /** the value when at or above 2^53 */
  big = 0n;

  /**
   * Writes `value`'s digits (a safe integer), as two halves below 10^9: V8 passes
   * those to putDecimal as small integers, where the whole value, a double from
   * 2^31 on, would be boxed.
   */
  formatValue(): void {
    const v = this.value;
    let hi = Math.floor(v / 1e9);
    let lo = v - hi * 1e9;
    if (lo < 0) { // v / 1e9 rounded up to the next integer
      hi--;
      lo += 1e9;
    }
    const d = this.digits;
    this.len = hi === 0 ? putDecimal(d, 0, lo) : putDecimal(d, putDecimal(d, 0, hi), lo, 9);
  }

  /** Cold path: a value at or above 2^53 (allocates a string). */
  setBigInt(v: bigint): void {
    this.value = -1;
    this.big = v;
    const s = v.toString();
    for (let i = 0; i < s.length; i++) this.digits[i] = s.charCodeAt(i);
    this.len = s.length;
  }

  set(v: U64): void {
    if (typeof v === 'bigint') return this.setBigInt(v);
    this.value = v;
    this.formatValue();
  }

  /** The value as a 64-bit big-endian integer at buf[off] (binary protocol). */
  writeU64BE(buf: Uint8Array, off: number): void {
    const v = this.value;
    if (v < 0) {
      const big = this.big;
      for (let i = 7; i >= 0; i--) buf[off + 7 - i] = Number((big >> BigInt(i * 8)) & 0xffn);
      return;
    }
    const hi = Math.floor(v / TWO32);
    const lo = v >>> 0; // ToUint32 is v mod 2^32, exact for safe integers
    buf[off] = hi >>> 24;
    buf[off + 1] = (hi >>> 16) & 0xff;
    buf[off + 2] = (hi >>> 8) & 0xff;
    buf[off + 3] = hi & 0xff;
    buf[off + 4] = lo >>> 24;
    buf[off + 5] = (lo >>> 16) & 0xff;
    buf[off + 6] = (lo >>> 8) & 0xff;
    buf[off + 7] = lo & 0xff;
  }

  /** The value as a BigInt, for tests and cold callers (allocates). */
  toBigInt(): bigint {
    return this.value < 0 ? this.big : BigInt(this.value);
  }
}

/**
 * incr/decr on a 64-bit unsigned decimal value, as memcached's do_add_delta: OK
 * with the result in r, NOT_FOUND, NON_NUMERIC, EXISTS (cas given and different)
 * or NO_MEMORY. With `initial` >= 0 a miss creates the item (binary and meta
 * protocols) with that value and `exptime`.
 */
export function arith(c: ArithEngine, key: Uint8Array, ks: number, kl: number, incr: boolean, delta: U64,
r: ArithResult, initial: U64, exptime: number, cas: number, hv: number): Status {
  const hdr = c.hdr;
  // hv, hashed once by the caller, serves the lookup and the store of a result that does not fit in place
  const h = c.peek(key, ks, kl, hv);
  r.item = NIL;
  if (h === NIL) {
    if (incr) c.counters.incr_misses++;
    else c.counters.decr_misses++;
    if (initial < 0) return NOT_FOUND;
    r.set(initial);
    const st = setDigits(c, key, ks, kl, hv, r, 0, exptime);
    return st === STORED ? OK : st;
  }
  // memcached refuses an empty or chained value before it compares the CAS
  const len = hdr.get(h, W_NBYTES);
  if (len === 0 || (hdr.itFlags(h) & ITEM_CHAINED) !== 0) return NON_NUMERIC;
  if (cas !== 0 && cas !== hdr.cas(h)) return EXISTS;
  const u8 = hdr.pageU8(h);
  const vs = hdr.valueByte(h);
  const parsed = strtoullInto(r, u8, vs, vs + len);
  if (parsed === NOT_U64) return NON_NUMERIC;
  let fast = false;
  if (parsed === IS_U64 && typeof delta === 'number') {
    const value = r.value;
    const next = incr ? value + delta : delta > value ? 0 : value - delta;
    // below 2^54, so no 2^64 wrap to apply; exact only while safe
    if (next <= Number.MAX_SAFE_INTEGER) {
      r.value = next;
      r.formatValue();
      fast = true;
    }
  }
  if (!fast && !bigArith(r, u8, vs, vs + len, incr, delta)) return NON_NUMERIC;
  const cls = c.slabs.classOf(h);
  if (incr) c.classCounters.incr_hits[cls]++;
  else c.classCounters.decr_hits[cls]++;
  const res = r.len;
  if (res <= len && hdr.refcount(h) === 0) {
    // in place, padded with spaces: memcached's well-known incr/decr quirk
    const digits = r.digits;
    for (let i = 0; i < res; i++) u8[vs + i] = digits[i];
    u8.fill(0x20, vs + res, vs + len);
    hdr.setCas(h, c.nextCas());
    // memcached's do_add_delta ends the in-place path with do_item_update: the item
    // counts as just accessed (me la=0, mg l0), and an active COLD item moves to WARM
    c.policy.update(h);
    r.item = h;
    return OK;
  }
  const st = setDigits(c, key, ks, kl, hv, r, hdr.get(h, W_FLAGS), -1, hdr.get(h, W_EXPTIME));
  return st === STORED ? OK : NO_MEMORY;
}

/**
 * The exact 64-bit path, for a value, delta or result at or above 2^53: wraps at
 * 2^64 on incr, clamps at 0 on decr. False if the value is not a number.
 */
function bigArith(r: ArithResult, u8: Uint8Array, s: number, e: number, incr: boolean, delta: U64): boolean {
  let value = safeStrtoull(u8, s, e);
  if (value < 0n) return false;
  const d = BigInt(delta);
  if (incr) value = (value + d) & U64_MAX;
  else value = d > value ? 0n : value - d;
  r.setBigInt(value);
  return true;
}

/**
 * Stores r's digits as a value, linked under the key in r.item; relExptime >= 0
 * overrides the wire exptime.
 */
function setDigits(c: ArithEngine, key: Uint8Array, ks: number, kl: number, hv: number, r: ArithResult, flags: number,
exptime: number, relExptime = -1): Status {
  const h = c.alloc(key, ks, kl, flags, exptime < 0 ? 0 : exptime, r.len);
  if (h === NIL) return c.allocFailure(kl, r.len);
  if (relExptime >= 0) c.hdr.set(h, W_EXPTIME, relExptime);
  const u8 = c.hdr.pageU8(h);
  const vs = c.hdr.valueByte(h);
  for (let i = 0; i < r.len; i++) u8[vs + i] = r.digits[i];
  // looked up again: alloc() may have evicted the old item to make room
  const old = c.peek(key, ks, kl, hv);
  if (old !== NIL) c.replaceItem(old, h, hv);
  else c.link(h, hv);
  r.item = h;
  return STORED;
}
