/**
 * Arenas and pages: the only place that allocates the memory items live in.
 *
 * `-m` megabytes are SharedArrayBuffer arenas allocated at start, counted as
 * reserved arena by arena up to the limit (all at once with `-L`); pages never
 * touched cost no RSS because the kernel hands out zero pages lazily. An engine no
 * other thread attaches to has plain ArrayBuffer arenas instead (shared-block.ts),
 * each made when its pages are first reserved. A
 * cache_memlimit above them adds arenas (grow()), which other threads take in
 * through engine-growth.ts before they can meet a page of them. Each page has a Uint8Array and a Uint32Array view,
 * indexed by page id, so an item handle turns into (view, offset) with two shifts.
 *
 * A handle is the item's address in 8-byte units (CHUNK_ALIGN_BYTES):
 *   handle = page << PAGE_UNIT_SHIFT | (byteOffsetInPage >>> 3)
 * Page ids start at 1 so that handle 0 means "no item" (NIL) everywhere. A u32 handle
 * addresses 2^32 * 8 bytes = 32 GiB of cache.
 */

import type { EngineBuffer, SharedBlock, SharedBuffers } from './shared-block.js';

export const CHUNK_ALIGN_BYTES = 8;
export const PAGE_SIZE = 1024 * 1024;
export const PAGE_UNIT_SHIFT = 17; // log2(PAGE_SIZE / CHUNK_ALIGN_BYTES)
export const PAGE_UNIT_MASK = (1 << PAGE_UNIT_SHIFT) - 1;
export const NIL = 0;
/** Largest -m a u32 handle can address. */
export const MAX_MEMORY_BYTES = 2 ** 32 * CHUNK_ALIGN_BYTES - PAGE_SIZE;
/** Highest page id a u32 handle can address. */
export const MAX_PAGE_ID = MAX_MEMORY_BYTES / PAGE_SIZE;
/** Pages per arena when growing on demand: large enough to keep arenas few. */
const ARENA_PAGES = 16;

export function makeHandle(page: number, byteOffset: number): number {
  return (page * (PAGE_UNIT_MASK + 1) + (byteOffset >>> 3)) >>> 0;
}
export function handlePage(h: number): number {
  return h >>> PAGE_UNIT_SHIFT;
}
/** Byte offset of a handle within its page. */
export function handleByte(h: number): number {
  return (h & PAGE_UNIT_MASK) << 3;
}

export interface MemoryLayout {
  /** page ids 1..reservedPages exist */
  reservedPages: number;
  /** next never-used page id */
  arenaNext: number;
  pagesInUse: number;
  spare: readonly number[];
}

/** Memory scalars, slots of the shared `memory` array. */
const M_LIMIT = 0;
const M_RESERVED_BYTES = 1;
const M_IN_USE = 2;
const M_ARENA_NEXT = 3;
const M_ARENA_END = 4;
const M_RESERVED_PAGES = 5;
const M_SPARE = 6;
/** Pages with arenas: -m's plus the forced ones, more once cache_memlimit raised the limit. */
const M_MAX_PAGES = 7;
/** -m's pages at start: an attached engine checks its options against it. */
const M_START_LIMIT = 8;
const M_SLOTS = 9;
/**
 * Pages per shared arena buffer: a few large buffers rather than one huge one, each
 * small enough that the kernel's overcommit heuristic accepts it on a small host.
 */
const BUFFER_PAGES = 256;
/** Pages past -m a slab class with no page at all may still take (one per class). */
export const FORCED_PAGES = 64;

export class Memory {
  /**
   * u8[page], u32[page]: views of page `page`; index 0 is a dummy. The byte view is
   * a Buffer so values copy out with Buffer#copy, which makes no view object.
   * Every page -m can reach has its views from the start, and pages grow() adds
   * have theirs before this thread can meet them; a page never touched costs no RSS.
   */
  readonly u8: Buffer[] = [Buffer.alloc(0)];
  readonly u32: Uint32Array[] = [new Uint32Array(0)];
  /**
   * Highest page id: -m's pages plus one forced page per slab class, or more after
   * grow(). Shared arenas give this thread views of them all; plain ones exist, with
   * their views, only up to reservedPages.
   */
  maxPages = 0;
  private readonly m: Float64Array;
  /** Spare page pool, a stack of page ids (pages given back by the page mover). */
  private spare: Uint32Array;
  /** Arena buffers this thread has views of (arena.0, arena.1, ...). */
  private arenas = 0;

  constructor(maxbytes: number, preallocate: boolean, private readonly block: SharedBlock) {
    if (maxbytes > MAX_MEMORY_BYTES) {
      throw new RangeError(`memory limit (-m) of ${Math.round(maxbytes / PAGE_SIZE)} MB is above the ${Math.floor(MAX_MEMORY_BYTES / PAGE_SIZE)} MB that item handles can address`);
    }
    const limit = Math.max(1, Math.floor(maxbytes / PAGE_SIZE));
    this.m = block.f64('memory', M_SLOTS);
    const m = this.m;
    if (block.attached) {
      if (m[M_START_LIMIT] !== limit) throw new Error(`shared engine was made with -m ${m[M_START_LIMIT]} pages, not ${limit}: attached with other options?`);
    } else {
      m[M_START_LIMIT] = limit;
      m[M_MAX_PAGES] = Math.min(limit + FORCED_PAGES, MAX_PAGE_ID);
      for (let first = 1, b = 0; block.shared && first <= m[M_MAX_PAGES]; first += BUFFER_PAGES, b++) {
        block.arena(`arena.${b}`, Math.min(BUFFER_PAGES, m[M_MAX_PAGES] + 1 - first) * PAGE_SIZE);
      }
    }
    this.viewArenas();
    this.spare = block.u32('memory.spare', m[M_MAX_PAGES] + 1);
    if (block.attached) return;
    this.limitPages = limit;
    if (preallocate) this.growArena(limit);
  }

  /**
   * Adds arenas so that page ids up to `pages` exist (cache_memlimit past them), and
   * puts them and a bigger spare pool in the block; the caller holds the engine lock
   * and passes `added` on to the other threads. The buffers are new: nothing that
   * another thread still reads is ever moved.
   */
  grow(pages: number, added: SharedBuffers): void {
    const m = this.m;
    const block = this.block;
    for (let first = m[M_MAX_PAGES] + 1, b = this.arenas; block.shared && first <= pages; first += BUFFER_PAGES, b++) {
      const buf = new SharedArrayBuffer(Math.min(BUFFER_PAGES, pages + 1 - first) * PAGE_SIZE);
      block.replace(`arena.${b}`, buf);
      added[`arena.${b}`] = buf;
    }
    const spare = new SharedArrayBuffer((pages + 1) * 4);
    new Uint32Array(spare).set(this.spare);
    block.replace('memory.spare', spare);
    added['memory.spare'] = spare;
    m[M_MAX_PAGES] = pages;
    this.refresh();
  }

  /** Takes in what grow() put in the block, on this thread or another. */
  refresh(): void {
    this.spare = this.block.u32('memory.spare', this.m[M_MAX_PAGES] + 1);
    this.viewArenas();
  }

  /**
   * Views of every page of the arenas this thread has not seen yet. Plain arenas
   * are made as pages are reserved instead (growArena()): V8 counts a plain
   * ArrayBuffer as external memory (a SharedArrayBuffer not), and -m 64's 128 MB
   * of arenas at start set off a full GC for external memory pressure before the
   * daemon had served anything; an empty cache now holds none.
   */
  private viewArenas(): void {
    if (!this.block.shared) {
      this.maxPages = this.m[M_MAX_PAGES];
      return;
    }
    const max = this.m[M_MAX_PAGES];
    while (this.maxPages < max) {
      const name = `arena.${this.arenas}`;
      if (!this.block.has(name)) throw new Error(`shared engine has no buffer ${name}: attached from a stale SharedEngine?`);
      this.maxPages += this.viewPages(this.block.buffers[name]);
      this.arenas++;
    }
  }

  /** Views of the pages of one arena buffer, as the next page ids; returns how many. */
  private viewPages(buf: EngineBuffer): number {
    const n = buf.byteLength / PAGE_SIZE;
    for (let i = 0; i < n; i++) {
      this.u8.push(Buffer.from(buf, i * PAGE_SIZE, PAGE_SIZE));
      this.u32.push(new Uint32Array(buf, i * PAGE_SIZE, PAGE_SIZE >>> 2));
    }
    return n;
  }

  /** Pages the -m limit allows (cache_memlimit may change it). */
  get limitPages(): number {
    return this.m[M_LIMIT];
  }
  set limitPages(v: number) {
    this.m[M_LIMIT] = v;
  }
  /** Bytes of arena counted as reserved so far (memcached's total_malloced counts pages handed out). */
  get reservedBytes(): number {
    return this.m[M_RESERVED_BYTES];
  }
  /** Page ids counted as reserved so far: 1..reservedPages can hold items. */
  get reservedPages(): number {
    return this.m[M_RESERVED_PAGES];
  }
  /** Pages handed out to slab classes (memcached's mem_malloced / PAGE_SIZE). */
  get pagesInUse(): number {
    return this.m[M_IN_USE];
  }

  /** Pages given back and not yet reused: the global page pool. */
  get sparePages(): number {
    return this.m[M_SPARE];
  }

  /** True if a page can be handed out without passing the -m limit. */
  underLimit(): boolean {
    return this.m[M_IN_USE] < this.m[M_LIMIT];
  }

  /**
   * A fresh page, or NIL. `force` lets a slab class that has no page at all take
   * one past the limit, as memcached does, so that every size stays storable.
   */
  newPage(force: boolean): number {
    if (!force && !this.underLimit()) return NIL;
    const m = this.m;
    let page: number;
    if (m[M_SPARE] > 0) {
      page = this.spare[--m[M_SPARE]];
      this.u8[page].fill(0);
    } else {
      if (m[M_ARENA_NEXT] === m[M_ARENA_END]) {
        const left = m[M_LIMIT] - m[M_RESERVED_PAGES];
        const grow = Math.min(left > 0 ? Math.min(ARENA_PAGES, left) : 1, m[M_MAX_PAGES] - m[M_RESERVED_PAGES]);
        if (grow <= 0) return NIL;
        this.growArena(grow);
      }
      page = m[M_ARENA_NEXT]++;
    }
    m[M_IN_USE]++;
    return page;
  }

  /** Gives a whole page back (page mover); it is reused before the arena grows. */
  releasePage(page: number): void {
    const m = this.m;
    m[M_IN_USE]--;
    this.spare[m[M_SPARE]++] = page;
  }

  /** Where the arenas stand, for a snapshot: page ids handed out so far and the spare pool. */
  layout(): MemoryLayout {
    const m = this.m;
    return {
      reservedPages: m[M_RESERVED_PAGES], arenaNext: m[M_ARENA_NEXT], pagesInUse: m[M_IN_USE],
      spare: Array.from(this.spare.subarray(0, m[M_SPARE])),
    };
  }

  /**
   * Puts the arenas back as a snapshot had them, before its pages are read in: page
   * ids are part of every handle, so each must come back under the same id. Only
   * for a fresh Memory.
   */
  restoreLayout(l: MemoryLayout): void {
    if (l.reservedPages > this.maxPages) throw new RangeError(`${l.reservedPages} pages do not fit in ${this.maxPages}`);
    const m = this.m;
    if (m[M_RESERVED_PAGES] < l.reservedPages) this.growArena(l.reservedPages - m[M_RESERVED_PAGES]);
    // a -L arena may reach past the saved one: the pages between are fresh either way
    m[M_ARENA_NEXT] = l.arenaNext;
    m[M_ARENA_END] = m[M_RESERVED_PAGES] + 1;
    m[M_IN_USE] = l.pagesInUse;
    m[M_SPARE] = 0;
    for (const p of l.spare) this.spare[m[M_SPARE]++] = p;
  }

  /**
   * Counts `pages` more pages of the arenas as reserved: shared ones exist already,
   * a plain one is made for them now (only this thread has the engine).
   */
  private growArena(pages: number): void {
    const m = this.m;
    if (!this.block.shared) this.viewPages(this.block.arena(`arena.${this.arenas++}`, pages * PAGE_SIZE));
    m[M_RESERVED_BYTES] += pages * PAGE_SIZE;
    m[M_ARENA_NEXT] = m[M_RESERVED_PAGES] + 1;
    m[M_RESERVED_PAGES] += pages;
    m[M_ARENA_END] = m[M_RESERVED_PAGES] + 1;
  }
}
