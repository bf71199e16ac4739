/**
 * `stats slabs`: memcached 1.6.18's slabs_stats(), per class that owns pages, then
 * active_slabs and total_malloced.
 */
import type { ServerContext } from '../server-context.js';
import { SLAB_CLASS_COUNTERS } from '../cache/class-stats.js';
import { largestClass, mallocedBytes, POWER_SMALLEST, slabClassStats } from '../cache/inspect.js';
import { Pairs, u } from './util.js';

export function slabsStats(ctx: ServerContext): Pairs {
  const c = ctx.cache;
  const cc = c.classCounters;
  const out: Pairs = [];
  let active = 0;
  for (let i = POWER_SMALLEST; i <= largestClass(c); i++) {
    const sc = slabClassStats(c, i);
    if (sc.totalPages === 0) continue;
    const total = sc.totalPages * sc.chunksPerPage;
    out.push([`${i}:chunk_size`, u(sc.chunkSize)]);
    out.push([`${i}:chunks_per_page`, u(sc.chunksPerPage)]);
    out.push([`${i}:total_pages`, u(sc.totalPages)]);
    out.push([`${i}:total_chunks`, u(total)]);
    out.push([`${i}:used_chunks`, u(total - sc.freeChunks)]);
    out.push([`${i}:free_chunks`, u(sc.freeChunks)]);
    out.push([`${i}:free_chunks_end`, '0']);
    // memcached's per-thread slab_stats, in its order: get_hits, cmd_set, ... touch_hits
    for (const k of SLAB_CLASS_COUNTERS) out.push([`${i}:${k}`, u(cc[k][i])]);
    active++;
  }
  out.push(['active_slabs', u(active)]);
  out.push(['total_malloced', u(mallocedBytes(c))]);
  return out;
}
