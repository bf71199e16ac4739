/**
 * Counters the engine keeps, under memcached's names, for `stats`, `stats items`
 * and `stats slabs`. Per-class counters are typed arrays indexed by class id.
 */
export const ITEM_CLASS_COUNTERS = [
  'evicted', 'evicted_nonzero', 'evicted_time', 'outofmemory', 'tailrepairs', 'reclaimed',
  'expired_unfetched', 'evicted_unfetched', 'evicted_active', 'crawler_reclaimed',
  'crawler_items_checked', 'lrutail_reflocked', 'moves_to_cold', 'moves_to_warm',
  'moves_within_lru', 'direct_reclaims', 'hits_to_hot', 'hits_to_warm', 'hits_to_cold',
  'hits_to_temp', 'mem_requested',
] as const;
export const SLAB_CLASS_COUNTERS = [
  'get_hits', 'cmd_set', 'delete_hits', 'incr_hits', 'decr_hits', 'cas_hits', 'cas_badval',
  'touch_hits',
] as const;

export type ItemCounter = (typeof ITEM_CLASS_COUNTERS)[number];
export type SlabCounter = (typeof SLAB_CLASS_COUNTERS)[number];
export type ClassCounters = Record<ItemCounter | SlabCounter, Float64Array>;

/**
 * Built in one go by Object.fromEntries: adding 20 or more properties one keyed store at a
 * time turns the object into a dictionary, and every hit, store and LRU move then
 * looks its counter up through a generic IC instead of a fixed field offset.
 */
export function makeClassCounters(classes: number): ClassCounters {
  const names = [...ITEM_CLASS_COUNTERS, ...SLAB_CLASS_COUNTERS];
  return Object.fromEntries(names.map((k) => [k, new Float64Array(classes)])) as ClassCounters;
}

/** Process-wide engine counters (the per-thread ones memcached sums). */
export class EngineCounters {
  curr_items = 0;
  total_items = 0;
  bytes = 0;
  get_cmds = 0;
  get_misses = 0;
  get_expired = 0;
  get_flushed = 0;
  touch_cmds = 0;
  touch_misses = 0;
  delete_misses = 0;
  incr_misses = 0;
  decr_misses = 0;
  cas_misses = 0;
  evictions = 0;
  reclaimed = 0;
  expired_unfetched = 0;
  evicted_unfetched = 0;
  evicted_active = 0;
  lru_bumps_dropped = 0;
  malloc_fails = 0;
  slab_reassign_rescues = 0;
  slab_reassign_chunk_rescues = 0;
  slab_reassign_evictions_nomem = 0;
  slab_reassign_inline_reclaim = 0;
  slab_reassign_busy_items = 0;
  slab_reassign_busy_deletes = 0;
  slabs_moved = 0;
  slab_reassign_running = 0;
  crawler_reclaimed = 0;
  crawler_items_checked = 0;
  lru_crawler_starts = 0;
  lru_maintainer_juggles = 0;
}
