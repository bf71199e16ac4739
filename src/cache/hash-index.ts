/**
 * The hash index: key bytes -> item handle, with no JS object per item.
 *
 * A power-of-two bucket array (Uint32Array of handles) with chaining through each
 * item's HNEXT header field. When items pass 1.5x the buckets the table doubles, and
 * buckets migrate a few at a time on later operations (and from `maintain()`), so no
 * single request pays for the whole move: memcached's assoc.c expansion, without
 * the thread. Keys are hashed and compared as bytes straight from the caller's buffer.
 */
import { NIL, PAGE_UNIT_MASK, PAGE_UNIT_SHIFT } from './memory.js';
import { ItemHeaders, W_HNEXT, W_META } from './item-header.js';

export const HASHPOWER_DEFAULT = 16;
export const HASHPOWER_MAX = 32;
/** Buckets migrated per insert while expanding. */
const MIGRATE_PER_OP = 4;

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

export class HashIndex {
  hashpower: number;
  private buckets: Uint32Array;
  /** while expanding: the smaller table, and how many of its buckets have moved */
  private old: Uint32Array | null = null;
  private expandBucket = 0;
  items = 0;
  expanding = false;

  constructor(private readonly hdr: ItemHeaders, hashpower = HASHPOWER_DEFAULT, private readonly canExpand = true,
    private readonly hash: KeyHash = hashKey) {
    this.hashpower = hashpower;
    this.buckets = new Uint32Array(2 ** hashpower);
  }

  /** Bytes of bucket arrays (memcached's hash_bytes). */
  get bytes(): number {
    return this.buckets.byteLength + (this.old ? this.old.byteLength : 0);
  }

  /** The item with this key, or NIL. `hv` is hashKey() of the same key. */
  find(key: Uint8Array, start: number, len: number, hv: number): number {
    const hdr = this.hdr;
    let h = this.bucketHead(hv);
    while (h !== NIL) {
      if (this.keyEquals(h, key, start, len)) return h;
      h = hdr.get(h, W_HNEXT);
    }
    return NIL;
  }

  keyEquals(h: number, key: Uint8Array, start: number, len: number): boolean {
    const hdr = this.hdr;
    const page = h >>> PAGE_UNIT_SHIFT;
    const base = ((h & PAGE_UNIT_MASK) << 1);
    if ((hdr.u32[page][base + W_META] & 0xff) !== len) return false;
    const u8 = hdr.u8[page];
    let p = (base << 2) + hdr.headerSize;
    for (let i = start, end = start + len; i < end; i++, p++) if (u8[p] !== key[i]) return false;
    return true;
  }

  insert(h: number, hv: number): void {
    const b = this.bucketFor(hv);
    this.hdr.set(h, W_HNEXT, b.table[b.index]);
    b.table[b.index] = h;
    this.items++;
    if (this.expanding) this.migrate(MIGRATE_PER_OP);
    else if (this.canExpand && this.items > (this.buckets.length * 3) / 2 && this.hashpower < HASHPOWER_MAX) this.startExpand();
  }

  /** Removes handle h (which must be present under hv). */
  remove(h: number, hv: number): void {
    const hdr = this.hdr;
    const b = this.bucketFor(hv);
    let cur = b.table[b.index];
    if (cur === h) {
      b.table[b.index] = hdr.get(h, W_HNEXT);
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
    this.items--;
  }

  /** Swaps item `oldH` for `newH` (same key) in place. */
  replace(oldH: number, newH: number, hv: number): void {
    const hdr = this.hdr;
    const b = this.bucketFor(hv);
    hdr.set(newH, W_HNEXT, hdr.get(oldH, W_HNEXT));
    let cur = b.table[b.index];
    if (cur === oldH) {
      b.table[b.index] = newH;
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

  /** The bucket array, for a snapshot; an expansion under way is finished first. */
  table(): Uint32Array {
    while (this.expanding) this.migrate(1 << 16);
    return this.buckets;
  }

  /**
   * Takes a snapshot's bucket array (2^hashpower handles). The items are counted
   * back in by the caller, which walks them.
   */
  restoreTable(hashpower: number, buckets: Uint32Array): void {
    this.hashpower = hashpower;
    this.buckets = buckets;
    this.old = null;
    this.expandBucket = 0;
    this.expanding = false;
    this.items = 0;
  }

  /** Background step: moves some buckets while expanding. Returns true if work remains. */
  maintain(buckets: number): boolean {
    if (!this.expanding) return false;
    this.migrate(buckets);
    return this.expanding;
  }

  private bucketHead(hv: number): number {
    if (this.old !== null) {
      const oi = hv & (this.old.length - 1);
      if (oi >= this.expandBucket) return this.old[oi];
    }
    return this.buckets[hv & (this.buckets.length - 1)];
  }

  // one reusable result object: no allocation per insert/remove
  private readonly slot: { table: Uint32Array; index: number } = { table: new Uint32Array(0), index: 0 };
  private bucketFor(hv: number): { table: Uint32Array; index: number } {
    const s = this.slot;
    if (this.old !== null) {
      const oi = hv & (this.old.length - 1);
      if (oi >= this.expandBucket) {
        s.table = this.old;
        s.index = oi;
        return s;
      }
    }
    s.table = this.buckets;
    s.index = hv & (this.buckets.length - 1);
    return s;
  }

  private startExpand(): void {
    this.old = this.buckets;
    this.buckets = new Uint32Array(this.old.length * 2);
    this.hashpower++;
    this.expandBucket = 0;
    this.expanding = true;
  }

  private migrate(count: number): void {
    const old = this.old!;
    const hdr = this.hdr;
    const mask = this.buckets.length - 1;
    while (count-- > 0 && this.expandBucket < old.length) {
      let h = old[this.expandBucket];
      while (h !== NIL) {
        const next = hdr.get(h, W_HNEXT);
        const hv = this.hash(hdr.pageU8(h), hdr.keyByte(h), hdr.nkey(h));
        const i = hv & mask;
        hdr.set(h, W_HNEXT, this.buckets[i]);
        this.buckets[i] = h;
        h = next;
      }
      old[this.expandBucket] = NIL;
      this.expandBucket++;
    }
    if (this.expandBucket >= old.length) {
      this.old = null;
      this.expanding = false;
    }
  }
}
