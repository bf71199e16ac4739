/**
 * The hash index: key bytes -> item handle, with no JS object per item.
 *
 * A power-of-two bucket array (Uint32Array of handles) with chaining through each
 * item's HNEXT header field. When items pass 1.5x the buckets the table doubles, and
 * buckets split a few at a time on later operations (and from `maintain()`), so no
 * single request pays for the whole move: memcached's assoc.c expansion, without
 * the thread, and in place in one shared array sized for the largest table -m
 * can need (a bigger copy once cache_memlimit raises that). Keys are hashed and compared as bytes straight from the caller's buffer.
 */
import { NIL as NIL_, PAGE_UNIT_MASK as PAGE_UNIT_MASK_, PAGE_UNIT_SHIFT as PAGE_UNIT_SHIFT_ } from './memory.js';
import { ItemHeaders, W_HNEXT as W_HNEXT_, W_META as W_META_ } from './item-header.js';
import type { SharedBlock, SharedBuffers } from './shared-block.js';

/**
 * Local copies of imported constants: an imported binding is read through its
 * module cell, with a hole check, at every use even in optimized code, where a
 * module's own unexported const is folded in as a number.
 */
const NIL = NIL_;
const PAGE_UNIT_MASK = PAGE_UNIT_MASK_;
const PAGE_UNIT_SHIFT = PAGE_UNIT_SHIFT_;
const W_HNEXT = W_HNEXT_;
const W_META = W_META_;

export const HASHPOWER_DEFAULT = 16;
export const HASHPOWER_MAX = 32;
/** Buckets migrated per insert while expanding. */
const MIGRATE_PER_OP = 4;
/** Uint32Array words read bytes little-endian here (keyEquals builds words the same way). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A key hash: (buf, start, len) to a signed 32-bit integer (hash-algorithms.ts has the others). */
export type KeyHash = (buf: Uint8Array, start: number, len: number) => number;

/**
 * MurmurHash3 x86_32 with seed 0 (memcached's default hash) over buf[start,
 * start+len), as a signed 32-bit integer (`>>> 0` gives memcached's unsigned value).
 * Makes no string, no object. stats detail orders prefixes by it too.
 */
export function hashKey(buf: Uint8Array, start: number, len: number): number {
  let h = 0;
  const end4 = start + (len & ~3);
  let i = start;
  for (; i < end4; i += 4) {
    let k = buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = len & 3;
  if (rest !== 0) {
    let k = buf[i];
    if (rest > 1) k ^= buf[i + 1] << 8;
    if (rest > 2) k ^= buf[i + 2] << 16;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  // signed: an int32 stays a small integer across calls, where an unsigned result of
  // 2^31 or more (half of all keys) would be boxed in a new heap number every lookup.
  // Bucket indexes mask it, which gives the same bits either way.
  return h | 0;
}

/** Hash scalars, slots of the shared `hash` array. */
const H_POWER = 0;
const H_EXPAND_BUCKET = 1;
const H_ITEMS = 2;
const H_EXPANDING = 3;
/** 2^hashpower - 1, kept beside the power so that a lookup masks without a power of two */
const H_MASK = 4;
/** Highest hashpower the bucket array allows (raised when cache_memlimit adds memory). */
const H_MAX_POWER = 5;
const H_SLOTS = 6;

/**
 * The largest hashpower the table may reach: enough buckets for `maxItems` items
 * at the expansion threshold (1.5 items per bucket), and never below the start.
 */
export function maxHashpower(start: number, canExpand: boolean, maxItems: number): number {
  if (!canExpand) return start;
  let p = start;
  while (p < HASHPOWER_MAX && 2 ** p * 1.5 < maxItems) p++;
  return p;
}

export class HashIndex {
  /**
   * Every bucket the table can grow to, allocated once. The table in use is the
   * first 2^hashpower of them; an expansion splits bucket i into i and i + 2^(p-1)
   * in place (linear hashing), and the migration cursor says which buckets have
   * split, so that no second array is ever made.
   */
  private buckets: Uint32Array;
  private readonly s: Float64Array;

  constructor(private readonly hdr: ItemHeaders, hashpower: number, private readonly canExpand: boolean,
    private readonly hash: KeyHash, private readonly block: SharedBlock, maxPower: number) {
    this.s = block.f64('hash', H_SLOTS);
    if (!block.attached) this.s[H_MAX_POWER] = Math.max(hashpower, maxPower);
    this.buckets = block.u32('hash.buckets', 2 ** this.maxPower);
    if (!block.attached) this.setPower(hashpower);
  }

  /** Highest hashpower the bucket array allows. */
  get maxPower(): number {
    return this.s[H_MAX_POWER];
  }

  /**
   * A bucket array for as many as `maxItems` items (cache_memlimit added memory),
   * holding the current buckets, put in the block and in `added` for other threads.
   * Nothing if the current array is big enough or the table may not expand.
   */
  grow(maxItems: number, added: SharedBuffers): void {
    const p = maxHashpower(this.maxPower, this.canExpand, maxItems);
    if (p <= this.maxPower) return;
    const buf = new SharedArrayBuffer(2 ** p * 4);
    new Uint32Array(buf).set(this.buckets);
    this.block.replace('hash.buckets', buf);
    added['hash.buckets'] = buf;
    this.s[H_MAX_POWER] = p;
    this.refresh();
  }

  /** Takes in the bucket array grow() put in the block, on this thread or another. */
  refresh(): void {
    this.buckets = this.block.u32('hash.buckets', 2 ** this.maxPower);
  }

  /** Table size is 2^hashpower buckets (the size being grown to, while expanding). */
  get hashpower(): number {
    return this.s[H_POWER];
  }
  /** Items indexed. */
  get items(): number {
    return this.s[H_ITEMS];
  }
  set items(n: number) {
    this.s[H_ITEMS] = n;
  }
  get expanding(): boolean {
    return this.s[H_EXPANDING] !== 0;
  }

  /**
   * Bytes of bucket arrays (memcached's hash_bytes): the table, and while expanding
   * the old table memcached would still hold too.
   */
  get bytes(): number {
    const n = 2 ** this.s[H_POWER] * 4;
    return this.s[H_EXPANDING] !== 0 ? n + n / 2 : n;
  }

  /** The item with this key, or NIL. `hv` is hashKey() of the same key. */
  find(key: Uint8Array, start: number, len: number, hv: number): number {
    const hdr = this.hdr;
    let h = this.buckets[this.bucketOf(hv)];
    while (h !== NIL) {
      if (this.keyEquals(h, key, start, len)) return h;
      h = hdr.get(h, W_HNEXT);
    }
    return NIL;
  }

  /**
   * The item's key starts 4-aligned (chunks are 8-aligned, headers a multiple of 4),
   * so it is compared a word at a time against the caller's bytes: each element
   * read of a typed array costs a map check, a bounds check and its base pointer,
   * and a byte loop paid those twice a byte.
   */
  keyEquals(h: number, key: Uint8Array, start: number, len: number): boolean {
    const hdr = this.hdr;
    const page = h >>> PAGE_UNIT_SHIFT;
    const base = ((h & PAGE_UNIT_MASK) << 1);
    const u32 = hdr.u32[page];
    if ((u32[base + W_META] & 0xff) !== len) return false;
    let p = (base << 2) + hdr.headerSize;
    let i = start;
    const end = start + len;
    if (LITTLE_ENDIAN) {
      for (let w = p >>> 2; i + 4 <= end; i += 4, w++) {
        if (u32[w] !== ((key[i] | (key[i + 1] << 8) | (key[i + 2] << 16) | (key[i + 3] << 24)) >>> 0)) return false;
      }
      p += i - start;
    }
    const u8 = hdr.u8[page];
    for (; i < end; i++, p++) if (u8[p] !== key[i]) return false;
    return true;
  }

  insert(h: number, hv: number): void {
    const b = this.bucketOf(hv);
    const s = this.s;
    this.hdr.set(h, W_HNEXT, this.buckets[b]);
    this.buckets[b] = h;
    s[H_ITEMS]++;
    if (s[H_EXPANDING] !== 0) this.migrate(MIGRATE_PER_OP);
    else if (this.canExpand && s[H_ITEMS] > (s[H_MASK] + 1) * 1.5 && s[H_POWER] < this.maxPower) this.startExpand();
  }

  /** Removes handle h (which must be present under hv). */
  remove(h: number, hv: number): void {
    const hdr = this.hdr;
    const b = this.bucketOf(hv);
    let cur = this.buckets[b];
    if (cur === h) {
      this.buckets[b] = hdr.get(h, W_HNEXT);
    } else {
      while (cur !== NIL) {
        const next = hdr.get(cur, W_HNEXT);
        if (next === h) {
          hdr.set(cur, W_HNEXT, hdr.get(h, W_HNEXT));
          break;
        }
        cur = next;
      }
    }
    hdr.set(h, W_HNEXT, NIL);
    this.s[H_ITEMS]--;
  }

  /** Swaps item `oldH` for `newH` (same key) in place. */
  replace(oldH: number, newH: number, hv: number): void {
    const hdr = this.hdr;
    const b = this.bucketOf(hv);
    hdr.set(newH, W_HNEXT, hdr.get(oldH, W_HNEXT));
    let cur = this.buckets[b];
    if (cur === oldH) {
      this.buckets[b] = newH;
    } else {
      while (cur !== NIL) {
        const next = hdr.get(cur, W_HNEXT);
        if (next === oldH) {
          hdr.set(cur, W_HNEXT, newH);
          break;
        }
        cur = next;
      }
    }
    hdr.set(oldH, W_HNEXT, NIL);
  }

  /** The buckets in use, for a snapshot; an expansion under way is finished first. */
  table(): Uint32Array {
    while (this.expanding) this.migrate(1 << 16);
    return this.buckets.subarray(0, 2 ** this.s[H_POWER]);
  }

  /**
   * Takes a snapshot's bucket array (2^hashpower handles). The items are counted
   * back in by the caller, which walks them.
   */
  restoreTable(hashpower: number, buckets: Uint32Array): void {
    if (hashpower > this.maxPower) throw new RangeError(`a hash table of 2^${hashpower} buckets is past this engine's 2^${this.maxPower}`);
    const s = this.s;
    this.buckets.set(buckets);
    this.buckets.fill(NIL, buckets.length, 2 ** Math.max(hashpower, s[H_POWER]));
    this.setPower(hashpower);
    s[H_EXPAND_BUCKET] = 0;
    s[H_EXPANDING] = 0;
    s[H_ITEMS] = 0;
  }

  /** Background step: moves some buckets while expanding. Returns true if work remains. */
  maintain(buckets: number): boolean {
    if (!this.expanding) return false;
    this.migrate(buckets);
    return this.expanding;
  }

  /** The bucket a hash lives in: under the old mask until its bucket has split. */
  private bucketOf(hv: number): number {
    const s = this.s;
    const mask = s[H_MASK];
    if (s[H_EXPANDING] !== 0) {
      const oi = hv & (mask >>> 1);
      if (oi >= s[H_EXPAND_BUCKET]) return oi;
    }
    return hv & mask;
  }

  private setPower(p: number): void {
    this.s[H_POWER] = p;
    this.s[H_MASK] = 2 ** p - 1;
  }

  private startExpand(): void {
    const s = this.s;
    this.setPower(s[H_POWER] + 1);
    s[H_EXPAND_BUCKET] = 0;
    s[H_EXPANDING] = 1;
  }

  /** Splits `count` more buckets i of the old table into i and i + half. */
  private migrate(count: number): void {
    const s = this.s;
    const hdr = this.hdr;
    const buckets = this.buckets;
    const size = 2 ** s[H_POWER];
    const half = size / 2;
    const mask = size - 1;
    let i = s[H_EXPAND_BUCKET];
    while (count-- > 0 && i < half) {
      let h = buckets[i];
      let low = NIL;
      let high = NIL;
      while (h !== NIL) {
        const next = hdr.get(h, W_HNEXT);
        const hv = this.hash(hdr.pageU8(h), hdr.keyByte(h), hdr.nkey(h));
        if ((hv & mask) === i) {
          hdr.set(h, W_HNEXT, low);
          low = h;
        } else {
          hdr.set(h, W_HNEXT, high);
          high = h;
        }
        h = next;
      }
      buckets[i] = low;
      buckets[i + half] = high;
      i++;
    }
    s[H_EXPAND_BUCKET] = i;
    if (i >= half) s[H_EXPANDING] = 0;
  }
}
