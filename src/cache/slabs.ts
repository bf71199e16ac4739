/**
 * Slab classes: cuts pages into equal chunks, one chunk size per class, and hands
 * chunks out and takes them back. Knows nothing of keys, LRUs or expiry.
 *
 * Chunk sizes start at the smallest item (header + -n bytes) and grow by -f,
 * aligned to CHUNK_ALIGN_BYTES, up to slab_chunk_max, as memcached's slabs_init()
 * does, except that alignment round-ups don't compound (see the constructor). A page, once given to a class, is carved lazily (a cursor, not a
 * loop over the page) so that taking a page costs O(1) and untouched bytes stay
 * untouched.
 */
import {
  CHUNK_ALIGN_BYTES as CHUNK_ALIGN_BYTES_, Memory, NIL as NIL_, PAGE_SIZE as PAGE_SIZE_,
  PAGE_UNIT_SHIFT as PAGE_UNIT_SHIFT_, makeHandle,
} from './memory.js';
import { ITEM_SLABBED as ITEM_SLABBED_, ItemHeaders, W_NEXT as W_NEXT_ } from './item-header.js';
import type { SharedBlock, SharedBuffers } from './shared-block.js';

/**
 * Local copies of imported constants: an imported binding is read through its
 * module cell, with a hole check, at every use even in optimized code, where a
 * module's own unexported const is folded in as a number.
 */
const CHUNK_ALIGN_BYTES = CHUNK_ALIGN_BYTES_;
const ITEM_SLABBED = ITEM_SLABBED_;
const NIL = NIL_;
const PAGE_SIZE = PAGE_SIZE_;
const PAGE_UNIT_SHIFT = PAGE_UNIT_SHIFT_;
const W_NEXT = W_NEXT_;

/** memcached's MAX_NUMBER_OF_SLAB_CLASSES (63 + 1); class 0 is unused. */
export const MAX_NUMBER_OF_SLAB_CLASSES = 64;
export const POWER_SMALLEST = 1;

export interface SlabOptions {
  growthFactor: number;
  chunkSize: number;    // -n
  slabChunkMax: number;
  headerSize: number;
  /** -o slab_sizes: these chunk sizes (aligned up), then slab_chunk_max */
  slabSizes?: readonly number[] | null;
}

export class Slabs {
  /** chunk size per class id; [0] unused */
  readonly size: number[] = [0];
  readonly perslab: number[] = [0];
  readonly largest: number;
  readonly freeHead: Uint32Array;
  readonly freeCount: Float64Array;
  readonly totalPages: Float64Array;
  /** chunks handed out and not yet freed, per class */
  readonly usedChunks: Float64Array;
  /** carving cursor: next handle in the class's newest page, and chunks left there (a snapshot keeps them) */
  readonly carveNext: Uint32Array;
  readonly carveLeft: Float64Array;
  /** class that owns each page, for every page id the memory can hand out */
  pageClass: Uint8Array;
  /** pages per class, in order received (the page mover takes from here) */
  pageList: ClassPages;

  constructor(readonly mem: Memory, readonly hdr: ItemHeaders, opts: SlabOptions, private readonly block: SharedBlock) {
    // Each class is the exact geometric series base * f^k, rounded up to the
    // alignment. memcached multiplies the already-rounded size, so round-ups compound:
    // from 88 at -f 1.15 it goes 104, 120, 144, 168 (steps of up to 1.2), where this
    // goes 104, 120, 136, 160. Small items are most items, and the overshoot is waste.
    let exact = opts.headerSize + opts.chunkSize;
    let size = 0;
    let i = POWER_SMALLEST - 1;
    const factor = opts.growthFactor;
    const given = opts.slabSizes ?? null;
    while (++i < MAX_NUMBER_OF_SLAB_CLASSES - 1) {
      if (given !== null) {
        // as memcached: the list as given (the CLI checked it), aligned, then the max
        if (i > given.length) break;
        size = Math.ceil(given[i - 1] / CHUNK_ALIGN_BYTES) * CHUNK_ALIGN_BYTES;
        this.size[i] = size;
        this.perslab[i] = Math.floor(PAGE_SIZE / size);
        continue;
      }
      if (exact >= opts.slabChunkMax / factor) break;
      // a factor close to 1 can round two classes to one size: keep them distinct
      size = Math.max(size + CHUNK_ALIGN_BYTES, Math.ceil(exact / CHUNK_ALIGN_BYTES) * CHUNK_ALIGN_BYTES);
      this.size[i] = size;
      this.perslab[i] = Math.floor(PAGE_SIZE / size);
      exact *= factor;
    }
    this.largest = i;
    this.size[i] = opts.slabChunkMax;
    this.perslab[i] = Math.floor(PAGE_SIZE / opts.slabChunkMax);
    const n = this.largest + 1;
    this.freeHead = block.u32('slabs.freeHead', n);
    this.freeCount = block.f64('slabs.freeCount', n);
    this.totalPages = block.f64('slabs.totalPages', n);
    this.usedChunks = block.f64('slabs.usedChunks', n);
    this.carveNext = block.u32('slabs.carveNext', n);
    this.carveLeft = block.f64('slabs.carveLeft', n);
    this.pageClass = block.u8('slabs.pageClass', mem.maxPages + 1);
    this.pageList = new ClassPages(block, n, mem.maxPages);
  }

  /**
   * The page tables for page ids up to `pages` (Memory.grow() first): new buffers
   * holding the current tables, put in the block and in `added` for other threads.
   */
  grow(pages: number, added: SharedBuffers): void {
    const pc = new SharedArrayBuffer(pages + 1);
    new Uint8Array(pc).set(this.pageClass);
    this.block.replace('slabs.pageClass', pc);
    added['slabs.pageClass'] = pc;
    added['slabs.pages'] = this.pageList.grow(this.block, pages);
    this.refresh();
  }

  /** Takes in the tables grow() put in the block, on this thread or another. */
  refresh(): void {
    this.pageClass = this.block.u8('slabs.pageClass', this.mem.maxPages + 1);
    this.pageList = new ClassPages(this.block, this.largest + 1, this.mem.maxPages);
  }

  /** Each class's pages as plain arrays: a copy, for inspection. */
  get pages(): number[][] {
    const out: number[][] = [];
    for (let c = 0; c <= this.largest; c++) out.push(Array.from(this.pageList.of(c)));
    return out;
  }

  /** Smallest class whose chunks hold `bytes`, or 0 if none does. */
  clsid(bytes: number): number {
    if (bytes === 0) return 0;
    // few classes: a linear scan from the bottom beats a binary search for small items
    const size = this.size;
    for (let c = POWER_SMALLEST; c <= this.largest; c++) if (bytes <= size[c]) return c;
    return 0;
  }

  classOf(h: number): number {
    return this.pageClass[h >>> PAGE_UNIT_SHIFT];
  }

  /** A chunk of class `cls`, or NIL when the class has no free chunk and no page can be had. */
  alloc(cls: number): number {
    let h = this.freeHead[cls];
    if (h !== NIL) {
      this.freeHead[cls] = this.hdr.get(h, W_NEXT);
      this.freeCount[cls]--;
    } else {
      if (this.carveLeft[cls] === 0 && !this.newPage(cls)) return NIL;
      h = this.carveNext[cls];
      this.carveNext[cls] = h + (this.size[cls] >>> 3);
      this.carveLeft[cls]--;
    }
    this.usedChunks[cls]++;
    return h;
  }

  free(cls: number, h: number): void {
    this.hdr.setMeta(h, 0, ITEM_SLABBED, 0);
    this.hdr.set(h, W_NEXT, this.freeHead[cls]);
    this.freeHead[cls] = h;
    this.freeCount[cls]++;
    this.usedChunks[cls]--;
  }

  /** Free chunks plus chunks not yet carved: memcached's free_chunks. */
  freeChunks(cls: number): number {
    return this.freeCount[cls] + this.carveLeft[cls];
  }

  /** Adds a page to a class; a class with no page may take one past the limit. */
  private newPage(cls: number): boolean {
    const page = this.mem.newPage(this.totalPages[cls] === 0);
    if (page === NIL) return false;
    this.assignPage(cls, page);
    return true;
  }

  assignPage(cls: number, page: number): void {
    this.pageClass[page] = cls;
    this.totalPages[cls]++;
    this.pageList.push(cls, page);
    // chunks left in the old carving page (if any) go to the free list first
    while (this.carveLeft[cls] > 0) {
      const h = this.carveNext[cls];
      this.carveNext[cls] = h + (this.size[cls] >>> 3);
      this.carveLeft[cls]--;
      this.usedChunks[cls]++;
      this.free(cls, h);
    }
    this.carveNext[cls] = makeHandle(page, 0);
    this.carveLeft[cls] = this.perslab[cls];
  }

  /**
   * Takes a page away from a class for the page mover: the caller has already
   * emptied it (every chunk free). Returns false if the page is the class's carving
   * page or not all its chunks are free.
   */
  removePage(cls: number, page: number): void {
    // drop the page's chunks from the free list
    const lo = makeHandle(page, 0);
    const hi = makeHandle(page + 1, 0);
    let prev = NIL;
    let h = this.freeHead[cls];
    let removed = 0;
    while (h !== NIL) {
      const next = this.hdr.get(h, W_NEXT);
      if (h >= lo && h < hi) {
        if (prev === NIL) this.freeHead[cls] = next;
        else this.hdr.set(prev, W_NEXT, next);
        removed++;
      } else {
        prev = h;
      }
      h = next;
    }
    this.freeCount[cls] -= removed;
    const carving = this.carveLeft[cls] > 0 && this.carveNext[cls] >= lo && this.carveNext[cls] < hi;
    if (carving) this.carveLeft[cls] = 0;
    this.pageList.remove(cls, page);
    this.totalPages[cls]--;
    this.pageClass[page] = 0;
    this.mem.releasePage(page);
  }

  /** Handles of every chunk in a page (page mover, crawler). */
  chunkHandle(page: number, cls: number, index: number): number {
    return makeHandle(page, index * this.size[cls]);
  }

  /** How many chunks of a page have been carved (the rest were never used). */
  carvedIn(page: number, cls: number): number {
    const lo = makeHandle(page, 0);
    if (this.carveLeft[cls] > 0 && this.carveNext[cls] >= lo && this.carveNext[cls] < makeHandle(page + 1, 0)) {
      return (this.carveNext[cls] - lo) / (this.size[cls] >>> 3);
    }
    return this.perslab[cls];
  }
}

/**
 * Each class's pages in the order it received them, as one shared table: a row of
 * page ids per class (every page could end up in one class) and a count per class.
 */
export class ClassPages {
  private readonly ids: Uint32Array;
  private readonly count: Float64Array;
  private readonly stride: number;

  constructor(block: SharedBlock, classes: number, maxPages: number) {
    this.stride = maxPages + 1;
    this.ids = block.u32('slabs.pages', classes * this.stride);
    this.count = block.f64('slabs.pageCount', classes);
  }

  /** A table for page ids up to `pages` holding this one's lists, put in the block; returns its buffer. */
  grow(block: SharedBlock, pages: number): SharedArrayBuffer {
    const classes = this.count.length;
    const buf = new SharedArrayBuffer(classes * (pages + 1) * 4);
    const ids = new Uint32Array(buf);
    for (let c = 0; c < classes; c++) ids.set(this.of(c), c * (pages + 1));
    block.replace('slabs.pages', buf);
    return buf;
  }

  /** The class's pages, oldest first: a view, valid until its pages change. */
  of(cls: number): Uint32Array {
    const b = cls * this.stride;
    return this.ids.subarray(b, b + this.count[cls]);
  }

  length(cls: number): number {
    return this.count[cls];
  }

  /** The class's oldest page (0 if it has none). */
  first(cls: number): number {
    return this.count[cls] > 0 ? this.ids[cls * this.stride] : 0;
  }

  push(cls: number, page: number): void {
    this.ids[cls * this.stride + this.count[cls]++] = page;
  }

  remove(cls: number, page: number): void {
    const b = cls * this.stride;
    const n = this.count[cls];
    let i = 0;
    while (i < n && this.ids[b + i] !== page) i++;
    if (i === n) return;
    this.ids.copyWithin(b + i, b + i + 1, b + n);
    this.count[cls] = n - 1;
  }

  /** Replaces the class's list (a snapshot's). */
  set(cls: number, pages: ArrayLike<number>): void {
    this.ids.set(pages, cls * this.stride);
    this.count[cls] = pages.length;
  }
}
