/**
 * The item header: the only code that knows where an item's fields live.
 *
 * An item is one chunk (or, past slab_chunk_max, a chain of chunks) inside a page:
 *
 *   byte  0  NEXT      u32  LRU link toward the tail (older); free-list link when slabbed
 *         4  PREV      u32  LRU link toward the head (newer)
 *         8  HNEXT     u32  hash-chain link
 *        12  TIME      u32  last access, rel_time seconds
 *        16  EXPTIME   u32  rel_time it expires at; 0 = never
 *        20  FLAGS     u32  client flags
 *        24  NBYTES    u32  value length (the whole value, for chained items)
 *        28  META      u32  nkey:8 | it_flags:16 | refcount:8
 *        32  CAS       u32 x2  low, high (absent with -C: header is 32 bytes, not 40)
 *   then the key bytes, then the value bytes (no trailing \r\n: the protocol adds it).
 *
 * A chained item's head chunk (from the largest class) holds header, key, padding to
 * 4 bytes, CHAIN (u32 handle of the first continuation chunk), then the first part of
 * the value. A continuation chunk has a 32-byte header of the same shape: NEXT = next
 * continuation, PREV = head item, NBYTES = value bytes held here, META it_flags =
 * ITEM_CHUNK; its data starts at CHUNK_HEADER_SIZE.
 *
 * Header size is a product figure: memcached's is 48 bytes + 8 for CAS + the key's
 * NUL and the value's \r\n; ours is 32 + 8 and stores neither.
 */
import { Memory, PAGE_UNIT_MASK as PAGE_UNIT_MASK_, PAGE_UNIT_SHIFT as PAGE_UNIT_SHIFT_ } from './memory.js';

/**
 * Local copies of imported constants: an imported binding is read through its
 * module cell, with a hole check, at every use even in optimized code, where a
 * module's own unexported const is folded in as a number.
 */
const PAGE_UNIT_MASK = PAGE_UNIT_MASK_;
const PAGE_UNIT_SHIFT = PAGE_UNIT_SHIFT_;

// word offsets
export const W_NEXT = 0;
export const W_PREV = 1;
export const W_HNEXT = 2;
export const W_TIME = 3;
export const W_EXPTIME = 4;
export const W_FLAGS = 5;
export const W_NBYTES = 6;
export const W_META = 7;
export const W_CAS_LO = 8;
export const W_CAS_HI = 9;

export const HEADER_SIZE_NOCAS = 32;
export const HEADER_SIZE_CAS = 40;
export const CHUNK_HEADER_SIZE = 32;

// it_flags (16 bits in META), memcached's names where it has them
export const ITEM_LINKED = 1;
export const ITEM_FETCHED = 2;
export const ITEM_ACTIVE = 4;
export const ITEM_CHAINED = 8;
export const ITEM_SLABBED = 16;
export const ITEM_CHUNK = 32;
/** meta: invalidated by `md I`/`ms I`; served stale (X) until recached */
export const ITEM_STALE = 64;
/** meta: a recache win (W) was handed out; others get Z */
export const ITEM_TOKEN_SENT = 128;
/** meta: the key was sent base64 (`b`), so `k` and `me` print it base64 */
export const ITEM_KEY_BINARY = 1024;
/** an upload in progress: its chunks count in Cache.uploadBytes until store() or release() */
export const ITEM_UPLOADING = 2048;
/** LRU segment in bits 8-9 of it_flags */
export const SEG_SHIFT = 8;
export const SEG_MASK = 3 << SEG_SHIFT;
export const HOT_LRU = 0;
export const WARM_LRU = 1;
export const COLD_LRU = 2;

export const REFCOUNT_MAX = 255;

/**
 * The exported constants above, as this module's own methods read them: an
 * exported binding is read through its module cell, checked at every use even
 * in optimized code, where an unexported const is folded in as a number.
 */
const META = W_META;
const CAS_LO = W_CAS_LO;
const CAS_HI = W_CAS_HI;
const CHAINED = ITEM_CHAINED;
const SEG_BITS = SEG_MASK;
const SEG_AT = SEG_SHIFT;

/** Reads and writes header fields of handles in a Memory. */
export class ItemHeaders {
  readonly u8: Buffer[];
  readonly u32: Uint32Array[];
  readonly headerSize: number;
  readonly useCas: boolean;

  constructor(mem: Memory, useCas: boolean) {
    this.u8 = mem.u8;
    this.u32 = mem.u32;
    this.useCas = useCas;
    this.headerSize = useCas ? HEADER_SIZE_CAS : HEADER_SIZE_NOCAS;
  }

  get(h: number, word: number): number {
    return this.u32[h >>> PAGE_UNIT_SHIFT][((h & PAGE_UNIT_MASK) << 1) + word];
  }
  set(h: number, word: number, v: number): void {
    this.u32[h >>> PAGE_UNIT_SHIFT][((h & PAGE_UNIT_MASK) << 1) + word] = v;
  }

  nkey(h: number): number {
    return this.get(h, META) & 0xff;
  }
  itFlags(h: number): number {
    return (this.get(h, META) >>> 8) & 0xffff;
  }
  refcount(h: number): number {
    return this.get(h, META) >>> 24;
  }
  setMeta(h: number, nkey: number, itFlags: number, refcount: number): void {
    this.set(h, META, (nkey | (itFlags << 8) | (refcount << 24)) >>> 0);
  }
  setItFlags(h: number, itFlags: number): void {
    const m = this.get(h, META);
    this.set(h, META, ((m & 0xff0000ff) | (itFlags << 8)) >>> 0);
  }
  addItFlags(h: number, bits: number): void {
    this.set(h, META, (this.get(h, META) | (bits << 8)) >>> 0);
  }
  clearItFlags(h: number, bits: number): void {
    this.set(h, META, (this.get(h, META) & ~(bits << 8)) >>> 0);
  }
  setRefcount(h: number, r: number): void {
    const m = this.get(h, META);
    this.set(h, META, ((m & 0x00ffffff) | (r << 24)) >>> 0);
  }
  segment(h: number): number {
    return (this.itFlags(h) & SEG_BITS) >>> SEG_AT;
  }
  setSegment(h: number, seg: number): void {
    const f = this.itFlags(h);
    this.setItFlags(h, (f & ~SEG_BITS) | (seg << SEG_AT));
  }

  /** CAS as a number; the counter stays far below 2^53. 0 when -C. */
  cas(h: number): number {
    if (!this.useCas) return 0;
    // both words through one page lookup: every get reply with a CAS reads this, and
    // two get() calls were two calls wherever the inliner's budget had run out
    const u32 = this.u32[h >>> PAGE_UNIT_SHIFT];
    const w = (h & PAGE_UNIT_MASK) << 1;
    return u32[w + CAS_HI] * 4294967296 + u32[w + CAS_LO];
  }
  setCas(h: number, cas: number): void {
    if (!this.useCas) return;
    this.set(h, CAS_LO, cas >>> 0);
    this.set(h, CAS_HI, Math.floor(cas / 4294967296) >>> 0);
  }

  /** Page-local byte offset of the key. */
  keyByte(h: number): number {
    return ((h & PAGE_UNIT_MASK) << 3) + this.headerSize;
  }
  pageU8(h: number): Buffer {
    return this.u8[h >>> PAGE_UNIT_SHIFT];
  }
  /** Page-local byte offset of the value (or its first part, for a chained item). */
  valueByte(h: number): number {
    const k = this.keyByte(h) + this.nkey(h);
    return this.itFlags(h) & CHAINED ? ((k + 3) & ~3) + 4 : k;
  }
  /** Word index (in the page's u32 view) of a chained head's CHAIN field. */
  chainWord(h: number): number {
    return ((this.keyByte(h) + this.nkey(h) + 3) & ~3) >>> 2;
  }
  chainFirst(h: number): number {
    return this.u32[h >>> PAGE_UNIT_SHIFT][this.chainWord(h)];
  }
  setChainFirst(h: number, c: number): void {
    this.u32[h >>> PAGE_UNIT_SHIFT][this.chainWord(h)] = c;
  }
  /** Bytes a chained head with this key length spends before its value. */
  chainedHeadOverhead(nkey: number): number {
    return ((this.headerSize + nkey + 3) & ~3) + 4;
  }
}
