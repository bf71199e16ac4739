/**
 * `stats slabs`: memcached 1.6.18's slabs_stats(), per class that owns pages, then
 * active_slabs and total_malloced.
 */
import type { ServerContext } from '../protocol/context.js';
import { PAGE_SIZE } from '../cache/memory.js';
import { POWER_SMALLEST } from '../cache/slabs.js';
import { globalPagePool } from '../cache/page-mover.js';
import { Pairs, u } from './util.js';

const PER_CLASS = ['get_hits', 'cmd_set', 'delete_hits', 'incr_hits', 'decr_hits', 'cas_hits', 'cas_badval',
  'touch_hits'] as const;

export function slabsStats(ctx: ServerContext): Pairs {
  const c = ctx.cache;
  const slabs = c.slabs;
  const cc = c.classCounters;
  const out: Pairs = [];
  let active = 0;
  for (let i = POWER_SMALLEST; i <= slabs.largest; i++) {
    const pages = slabs.totalPages[i];
    if (pages === 0) continue;
    const total = pages * slabs.perslab[i];
    // uncarved chunks are free too: memcached splits a whole page into its free list up front
    const free = slabs.freeChunks(i);
    out.push([`${i}:chunk_size`, u(slabs.size[i])]);
    out.push([`${i}:chunks_per_page`, u(slabs.perslab[i])]);
    out.push([`${i}:total_pages`, u(pages)]);
    out.push([`${i}:total_chunks`, u(total)]);
    out.push([`${i}:used_chunks`, u(total - free)]);
    out.push([`${i}:free_chunks`, u(free)]);
    out.push([`${i}:free_chunks_end`, '0']);
    for (const k of PER_CLASS) out.push([`${i}:${k}`, u(cc[k][i])]);
    active++;
  }
  out.push(['active_slabs', u(active)]);
  // pages handed to classes plus pages parked in the global pool, as memcached's mem_malloced
  out.push(['total_malloced', u((c.mem.pagesInUse + globalPagePool(c.mem)) * PAGE_SIZE)]);
  return out;
}
