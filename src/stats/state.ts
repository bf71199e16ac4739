/**
 * What `stats` keeps between requests for one daemon (one Cache): prefix counters
 * for `stats detail`, and whether `stats sizes` is tracking. Kept beside the cache
 * in a WeakMap so ServerContext needs no new fields.
 */
import type { Cache } from '../cache/engine.js';
import type { ServerContext } from '../server-context.js';
import { PrefixStats } from './detail.js';

export interface StatsState {
  prefix: PrefixStats;
  /**
   * `stats sizes`: -1 when off; else items with a CAS at least this are counted
   * (memcached's stats_sizes_cas_min: `sizes_enable` at runtime only sees items
   * stored after it; -o track_sizes sees all).
   */
  sizesCasMin: number;
}

const states = new WeakMap<Cache, StatsState>();

export function stateOf(ctx: ServerContext): StatsState {
  let s = states.get(ctx.cache);
  if (s === undefined) {
    s = { prefix: new PrefixStats(ctx.cache.hash), sizesCasMin: ctx.settings.trackSizes ? 0 : -1 };
    states.set(ctx.cache, s);
  }
  return s;
}
