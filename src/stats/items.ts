/**
 * `stats items`: memcached 1.6.18's item_stats(), per class that holds items.
 * Ages are seconds since the last access of each segment's tail item.
 */
import type { ServerContext } from '../server-context.js';
import { largestClass, lruStats, POWER_SMALLEST } from '../cache/inspect.js';
import { Pairs, u } from './util.js';

export function itemsStats(ctx: ServerContext): Pairs {
  const c = ctx.cache;
  const s = ctx.settings;
  const cc = c.classCounters;
  const out: Pairs = [];
  for (let n = POWER_SMALLEST; n <= largestClass(c); n++) {
    const lru = lruStats(c, n);
    if (lru.number === 0) continue;
    const add = (name: string, v: number): void => {
      out.push([`items:${n}:${name}`, u(v)]);
    };
    add('number', lru.number);
    if (s.lruMaintainer) {
      add('number_hot', lru.hot);
      add('number_warm', lru.warm);
      add('number_cold', lru.cold);
      if (s.tempLru) add('number_temp', 0); // no TEMP_LRU: short-TTL items live in HOT
      add('age_hot', lru.ageHot);
      add('age_warm', lru.ageWarm);
    }
    add('age', lru.ageCold);
    add('mem_requested', cc.mem_requested[n]);
    add('evicted', cc.evicted[n]);
    add('evicted_nonzero', cc.evicted_nonzero[n]);
    add('evicted_time', cc.evicted_time[n]);
    add('outofmemory', cc.outofmemory[n]);
    add('tailrepairs', cc.tailrepairs[n]);
    add('reclaimed', cc.reclaimed[n]);
    add('expired_unfetched', cc.expired_unfetched[n]);
    add('evicted_unfetched', cc.evicted_unfetched[n]);
    if (s.lruMaintainer) add('evicted_active', cc.evicted_active[n]);
    add('crawler_reclaimed', cc.crawler_reclaimed[n]);
    add('crawler_items_checked', cc.crawler_items_checked[n]);
    add('lrutail_reflocked', cc.lrutail_reflocked[n]);
    if (s.lruMaintainer) {
      add('moves_to_cold', cc.moves_to_cold[n]);
      add('moves_to_warm', cc.moves_to_warm[n]);
      add('moves_within_lru', cc.moves_within_lru[n]);
      add('direct_reclaims', cc.direct_reclaims[n]);
      add('hits_to_hot', cc.hits_to_hot[n]);
      add('hits_to_warm', cc.hits_to_warm[n]);
      add('hits_to_cold', cc.hits_to_cold[n]);
      add('hits_to_temp', cc.hits_to_temp[n]);
    }
  }
  return out;
}
