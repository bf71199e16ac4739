/**
 * What `stats` may ask the engine about its memory: item counts and tail ages per
 * LRU segment, slab class geometry, page and hash-table figures, and walks over
 * items for `stats sizes` and `stats cachedump`. Read-only. Callers see class ids,
 * handles and numbers, never item-header offsets, LRU link words or slab tables, so
 * the layout can change without touching stats/.
 *
 * Everything here is O(classes) except the walks, which are O(items) and only run
 * when an operator asks (memcached's docs warn `stats sizes` and cachedump are slow).
 */
import type { Cache } from './engine.js';
import { NIL, PAGE_SIZE } from './memory.js';
import { COLD_LRU, HOT_LRU, W_NEXT, WARM_LRU } from './item-header.js';
import { SEGMENTS } from './lru.js';
import { MAX_NUMBER_OF_SLAB_CLASSES, POWER_SMALLEST } from './slabs.js';
import { globalPagePool } from './page-mover.js';

/** memcached's class id limits: ids run from POWER_SMALLEST to largestClass(). */
export { MAX_NUMBER_OF_SLAB_CLASSES, POWER_SMALLEST };
/** The key hash (murmur3, memcached's), for stats detail's prefix buckets. */
export { hashKey } from './hash-index.js';
/** The engine counters' names, for `stats reset`. */
export { ENGINE_COUNTERS } from './class-stats.js';

/** The largest slab class id; items bigger than its chunks are chained across chunks. */
export function largestClass(c: Cache): number {
  return c.slabs.largest;
}

/** One slab class's LRU as `stats items` reports it. */
export interface LruStats {
  /** items in all segments */
  number: number;
  hot: number;
  warm: number;
  cold: number;
  /** seconds since the last access of each segment's tail (oldest) item; 0 when empty */
  ageHot: number;
  ageWarm: number;
  ageCold: number;
}

export function lruStats(c: Cache, cls: number): LruStats {
  const lru = c.lru;
  const base = cls * SEGMENTS;
  const now = c.clock.now;
  const age = (id: number): number => {
    const t = lru.tail[id];
    return t === NIL ? 0 : Math.max(0, now - c.lastAccess(t));
  };
  return {
    number: lru.classCount(cls),
    hot: lru.count[base + HOT_LRU],
    warm: lru.count[base + WARM_LRU],
    cold: lru.count[base + COLD_LRU],
    ageHot: age(base + HOT_LRU),
    ageWarm: age(base + WARM_LRU),
    ageCold: age(base + COLD_LRU),
  };
}

/** One slab class's geometry and fill, as `stats slabs` reports it. */
export interface SlabClassStats {
  chunkSize: number;
  chunksPerPage: number;
  totalPages: number;
  /** free-listed chunks plus chunks not yet carved (memcached splits a whole page up front) */
  freeChunks: number;
}

export function slabClassStats(c: Cache, cls: number): SlabClassStats {
  const s = c.slabs;
  return { chunkSize: s.size[cls], chunksPerPage: s.perslab[cls], totalPages: s.totalPages[cls], freeChunks: s.freeChunks(cls) };
}

/** Pages parked in the global pool (released by the page mover, not yet reused). */
export function globalPoolPages(c: Cache): number {
  return globalPagePool(c.mem);
}

/** memcached's total_malloced: pages handed to classes plus pages in the global pool. */
export function mallocedBytes(c: Cache): number {
  return (c.mem.pagesInUse + globalPagePool(c.mem)) * PAGE_SIZE;
}

/** The hash index as `stats` reports it (hash_power_level, hash_bytes, hash_is_expanding). */
export function hashTableStats(c: Cache): { hashpower: number; bytes: number; expanding: boolean } {
  return { hashpower: c.index.hashpower, bytes: c.index.bytes, expanding: c.index.expanding };
}

/** False with -C: items carry no CAS. */
export function casEnabled(c: Cache): boolean {
  return c.hdr.useCas;
}

/** Calls visit with every linked item's handle, class by class, segment by segment. */
export function forEachItem(c: Cache, visit: (h: number) => void): void {
  const lru = c.lru;
  const hdr = c.hdr;
  for (let id = POWER_SMALLEST * SEGMENTS; id < lru.head.length; id++) {
    for (let h = lru.head[id]; h !== NIL; h = hdr.get(h, W_NEXT)) visit(h);
  }
}

/**
 * Calls visit with the handles of a class's COLD LRU, newest first, until visit
 * returns false or the list ends (memcached's item_cachedump).
 */
export function forEachColdItem(c: Cache, cls: number, visit: (h: number) => boolean): void {
  if (cls < POWER_SMALLEST || cls > c.slabs.largest) return;
  const hdr = c.hdr;
  for (let h = c.lru.head[cls * SEGMENTS + COLD_LRU]; h !== NIL; h = hdr.get(h, W_NEXT)) {
    if (!visit(h)) return;
  }
}

/** An item's key as a latin1 string (stats only: the request path never makes one). */
export function keyString(c: Cache, h: number): string {
  const hdr = c.hdr;
  const ks = hdr.keyByte(h);
  return hdr.pageU8(h).toString('latin1', ks, ks + hdr.nkey(h));
}

/** Unix time an item expires at, 0 for never. */
export function exptimeUnix(c: Cache, h: number): number {
  const exp = c.exptime(h);
  return exp === 0 ? 0 : exp + c.clock.processStarted;
}
