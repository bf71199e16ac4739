/**
 * Memory for one item: a chunk of the right class, or for values past
 * slab_chunk_max a head chunk plus a chain of continuation chunks. When a class has
 * no free chunk and no page can be had, the policy frees one (reclaim or evict).
 */
import type { ClassCounters } from './class-stats.js';
import { NIL } from './memory.js';
import { CHUNK_HEADER_SIZE, ITEM_CHUNK, type ItemHeaders, W_NBYTES, W_NEXT, W_PREV } from './item-header.js';
import type { LruPolicy } from './lru-policy.js';
import type { Slabs } from './slabs.js';

/** Allocation retries (each may evict one item) before giving up. */
const ALLOC_TRIES = 10;

export class ItemAllocator {
  constructor(
    private readonly slabs: Slabs,
    private readonly hdr: ItemHeaders,
    private readonly policy: LruPolicy,
    private readonly cc: ClassCounters,
  ) {}

  /** Value bytes a chained item's head chunk holds. */
  headCapacity(nkey: number): number {
    return this.slabs.size[this.slabs.largest] - this.hdr.chainedHeadOverhead(nkey);
  }

  /**
   * Head chunk plus continuation chunks for a value past slab_chunk_max. The head
   * comes back with its key length and its link to the first continuation set.
   */
  allocChained(nkey: number, nbytes: number): number {
    const slabs = this.slabs;
    const hdr = this.hdr;
    const largest = slabs.largest;
    const chunkMax = slabs.size[largest];
    const head = this.allocChunk(largest);
    if (head === NIL) return NIL;
    // the head is not an item yet: keep the LRU walk off it while we allocate
    // (its nkey places the chain link, set below)
    hdr.setMeta(head, nkey, ITEM_CHUNK, 1);
    let remaining = nbytes - (chunkMax - hdr.chainedHeadOverhead(nkey));
    let first = NIL;
    let prev = NIL;
    while (remaining > 0) {
      const piece = Math.min(remaining, chunkMax - CHUNK_HEADER_SIZE);
      const cls = piece === chunkMax - CHUNK_HEADER_SIZE ? largest : slabs.clsid(piece + CHUNK_HEADER_SIZE);
      const c = this.allocChunk(cls);
      if (c === NIL) {
        for (let x = first; x !== NIL;) {
          const next = hdr.get(x, W_NEXT);
          slabs.free(slabs.classOf(x), x);
          x = next;
        }
        slabs.free(largest, head);
        return NIL;
      }
      hdr.set(c, W_NEXT, NIL);
      hdr.set(c, W_PREV, head);
      hdr.set(c, W_NBYTES, piece);
      hdr.setMeta(c, 0, ITEM_CHUNK, 0);
      if (prev === NIL) first = c;
      else hdr.set(prev, W_NEXT, c);
      prev = c;
      remaining -= piece;
    }
    hdr.setChainFirst(head, first);
    return head;
  }

  /**
   * A chunk of class cls: free list, fresh page, then expired items from the LRU
   * tails, then (unless -M) eviction of the coldest unpinned item.
   */
  allocChunk(cls: number): number {
    for (let tries = 0; tries < ALLOC_TRIES; tries++) {
      const h = this.slabs.alloc(cls);
      if (h !== NIL) return h;
      if (!this.policy.pullTail(cls)) break;
    }
    this.cc.outofmemory[cls]++;
    return NIL;
  }
}
