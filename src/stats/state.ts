/**
 * What `stats` keeps between requests for one daemon: prefix counters for `stats
 * detail`, and whether `stats sizes` is tracking. Made once with the daemon's
 * ServerContext (ctx.stats).
 */
import type { KeyHash } from '../cache/hash-index.js';
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

/** -o track_sizes: `stats sizes` counts from the start. `hash` is the engine's key hash (stats detail buckets by it). */
export function newStatsState(settings: { trackSizes: boolean }, hash: KeyHash): StatsState {
  return { prefix: new PrefixStats(hash), sizesCasMin: settings.trackSizes ? 0 : -1 };
}
