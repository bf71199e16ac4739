/**
 * Arenas and pages: the only place that allocates the memory items live in.
 *
 * `-m` megabytes are reserved as ArrayBuffer arenas, grown arena by arena up to the
 * limit (all at once with `-L`); pages never touched cost no RSS because the kernel
 * hands out zero pages lazily. Each page has a Uint8Array and a Uint32Array view,
 * indexed by page id, so an item handle turns into (view, offset) with two shifts.
 *
 * A handle is the item's address in 8-byte units (CHUNK_ALIGN_BYTES):
 *   handle = page << PAGE_UNIT_SHIFT | (byteOffsetInPage >>> 3)
 * Page ids start at 1 so that handle 0 means "no item" (NIL) everywhere. A u32 handle
 * addresses 2^32 * 8 bytes = 32 GiB of cache.
 */

export const CHUNK_ALIGN_BYTES = 8;
export const PAGE_SIZE = 1024 * 1024;
export const PAGE_UNIT_SHIFT = 17; // log2(PAGE_SIZE / CHUNK_ALIGN_BYTES)
export const PAGE_UNIT_MASK = (1 << PAGE_UNIT_SHIFT) - 1;
export const NIL = 0;
/** Largest -m a u32 handle can address. */
export const MAX_MEMORY_BYTES = 2 ** 32 * CHUNK_ALIGN_BYTES - PAGE_SIZE;
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

export class Memory {
  /**
   * u8[page], u32[page]: views of page `page`; index 0 is a dummy. The byte view is
   * a Buffer so values copy out with Buffer#copy, which makes no view object.
   */
  readonly u8: Buffer[] = [Buffer.alloc(0)];
  readonly u32: Uint32Array[] = [new Uint32Array(0)];
  /** Pages the -m limit allows (cache_memlimit may change it). */
  limitPages: number;
  /** Bytes of ArrayBuffer reserved so far (memcached's total_malloced counts pages handed out). */
  reservedBytes = 0;
  /** Pages handed out to slab classes (memcached's mem_malloced / PAGE_SIZE). */
  pagesInUse = 0;
  private arenaNext = 0; // next unused page id in the newest arena
  private arenaEnd = 0;
  private readonly spare: number[] = []; // pages given back by the page mover

  constructor(maxbytes: number, preallocate: boolean) {
    if (maxbytes > MAX_MEMORY_BYTES) {
      throw new RangeError(`memory limit (-m) of ${Math.round(maxbytes / PAGE_SIZE)} MB is above the ${Math.floor(MAX_MEMORY_BYTES / PAGE_SIZE)} MB that item handles can address`);
    }
    this.limitPages = Math.max(1, Math.floor(maxbytes / PAGE_SIZE));
    if (preallocate) this.growArena(this.limitPages);
  }

  /** Pages given back and not yet reused: the global page pool. */
  get sparePages(): number {
    return this.spare.length;
  }

  /** True if a page can be handed out without passing the -m limit. */
  underLimit(): boolean {
    return this.pagesInUse < this.limitPages;
  }

  /**
   * A fresh page, or NIL. `force` lets a slab class that has no page at all take
   * one past the limit, as memcached does, so that every size stays storable.
   */
  newPage(force: boolean): number {
    if (!force && !this.underLimit()) return NIL;
    let page = this.spare.pop();
    if (page === undefined) {
      if (this.arenaNext === this.arenaEnd) {
        const left = this.limitPages - (this.u8.length - 1);
        this.growArena(left > 0 ? Math.min(ARENA_PAGES, left) : 1);
      }
      page = this.arenaNext++;
    } else {
      this.u8[page].fill(0);
    }
    this.pagesInUse++;
    return page;
  }

  /** Gives a whole page back (page mover); it is reused before the arena grows. */
  releasePage(page: number): void {
    this.pagesInUse--;
    this.spare.push(page);
  }

  /** Where the arenas stand, for a snapshot: page ids handed out so far and the spare pool. */
  layout(): MemoryLayout {
    return { reservedPages: this.u8.length - 1, arenaNext: this.arenaNext, pagesInUse: this.pagesInUse, spare: this.spare };
  }

  /**
   * Puts the arenas back as a snapshot had them, before its pages are read in: page
   * ids are part of every handle, so each must come back under the same id. Only
   * for a fresh Memory.
   */
  restoreLayout(l: MemoryLayout): void {
    while (this.u8.length - 1 < l.reservedPages) {
      this.growArena(Math.min(ARENA_PAGES, l.reservedPages - (this.u8.length - 1)));
    }
    // a -L arena may reach past the saved one: the pages between are fresh either way
    this.arenaNext = l.arenaNext;
    this.arenaEnd = this.u8.length;
    this.pagesInUse = l.pagesInUse;
    this.spare.length = 0;
    for (const p of l.spare) this.spare.push(p);
  }

  private growArena(pages: number): void {
    const buf = new ArrayBuffer(pages * PAGE_SIZE);
    this.reservedBytes += buf.byteLength;
    this.arenaNext = this.u8.length;
    for (let i = 0; i < pages; i++) {
      this.u8.push(Buffer.from(buf, i * PAGE_SIZE, PAGE_SIZE));
      this.u32.push(new Uint32Array(buf, i * PAGE_SIZE, PAGE_SIZE >>> 2));
    }
    this.arenaEnd = this.u8.length;
  }
}
