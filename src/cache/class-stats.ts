/**
 * Counters the engine keeps, under memcached's names, for `stats`, `stats items`
 * and `stats slabs`. Per-class counters are typed arrays indexed by class id.
 */
import type { SharedBlock } from './shared-block.js';

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
export function makeClassCounters(classes: number, block: SharedBlock): ClassCounters {
  const names = [...ITEM_CLASS_COUNTERS, ...SLAB_CLASS_COUNTERS];
  return Object.fromEntries(names.map((k) => [k, block.f64(`class.${k}`, classes)])) as ClassCounters;
}

/** Process-wide engine counters (the per-thread ones memcached sums), names in slot order. */
export const ENGINE_COUNTERS = [
  'curr_items',
  'total_items',
  'bytes',
  'get_cmds',
  'get_misses',
  'get_expired',
  'get_flushed',
  'touch_cmds',
  'touch_misses',
  'delete_misses',
  'incr_misses',
  'decr_misses',
  'cas_misses',
  'evictions',
  'reclaimed',
  'expired_unfetched',
  'evicted_unfetched',
  'evicted_active',
  'lru_bumps_dropped',
  'malloc_fails',
  'slab_reassign_rescues',
  'slab_reassign_chunk_rescues',
  'slab_reassign_evictions_nomem',
  'slab_reassign_inline_reclaim',
  'slab_reassign_busy_items',
  'slab_reassign_busy_deletes',
  'slabs_moved',
  'slab_reassign_running',
  'crawler_reclaimed',
  'crawler_items_checked',
  'lru_crawler_starts',
  'lru_maintainer_juggles',
] as const;

/**
 * Process-wide engine counters, one shared Float64 slot each. Accessors keep call
 * sites such as `counters.get_cmds++` as they were; V8 inlines them into a plain
 * typed-array load and store.
 */
export class EngineCounters {
  private readonly v: Float64Array;
  constructor(block: SharedBlock) {
    this.v = block.f64('counters', ENGINE_COUNTERS.length);
  }
  get curr_items(): number { return this.v[0]; }
  set curr_items(x: number) { this.v[0] = x; }
  get total_items(): number { return this.v[1]; }
  set total_items(x: number) { this.v[1] = x; }
  get bytes(): number { return this.v[2]; }
  set bytes(x: number) { this.v[2] = x; }
  get get_cmds(): number { return this.v[3]; }
  set get_cmds(x: number) { this.v[3] = x; }
  get get_misses(): number { return this.v[4]; }
  set get_misses(x: number) { this.v[4] = x; }
  get get_expired(): number { return this.v[5]; }
  set get_expired(x: number) { this.v[5] = x; }
  get get_flushed(): number { return this.v[6]; }
  set get_flushed(x: number) { this.v[6] = x; }
  get touch_cmds(): number { return this.v[7]; }
  set touch_cmds(x: number) { this.v[7] = x; }
  get touch_misses(): number { return this.v[8]; }
  set touch_misses(x: number) { this.v[8] = x; }
  get delete_misses(): number { return this.v[9]; }
  set delete_misses(x: number) { this.v[9] = x; }
  get incr_misses(): number { return this.v[10]; }
  set incr_misses(x: number) { this.v[10] = x; }
  get decr_misses(): number { return this.v[11]; }
  set decr_misses(x: number) { this.v[11] = x; }
  get cas_misses(): number { return this.v[12]; }
  set cas_misses(x: number) { this.v[12] = x; }
  get evictions(): number { return this.v[13]; }
  set evictions(x: number) { this.v[13] = x; }
  get reclaimed(): number { return this.v[14]; }
  set reclaimed(x: number) { this.v[14] = x; }
  get expired_unfetched(): number { return this.v[15]; }
  set expired_unfetched(x: number) { this.v[15] = x; }
  get evicted_unfetched(): number { return this.v[16]; }
  set evicted_unfetched(x: number) { this.v[16] = x; }
  get evicted_active(): number { return this.v[17]; }
  set evicted_active(x: number) { this.v[17] = x; }
  get lru_bumps_dropped(): number { return this.v[18]; }
  set lru_bumps_dropped(x: number) { this.v[18] = x; }
  get malloc_fails(): number { return this.v[19]; }
  set malloc_fails(x: number) { this.v[19] = x; }
  get slab_reassign_rescues(): number { return this.v[20]; }
  set slab_reassign_rescues(x: number) { this.v[20] = x; }
  get slab_reassign_chunk_rescues(): number { return this.v[21]; }
  set slab_reassign_chunk_rescues(x: number) { this.v[21] = x; }
  get slab_reassign_evictions_nomem(): number { return this.v[22]; }
  set slab_reassign_evictions_nomem(x: number) { this.v[22] = x; }
  get slab_reassign_inline_reclaim(): number { return this.v[23]; }
  set slab_reassign_inline_reclaim(x: number) { this.v[23] = x; }
  get slab_reassign_busy_items(): number { return this.v[24]; }
  set slab_reassign_busy_items(x: number) { this.v[24] = x; }
  get slab_reassign_busy_deletes(): number { return this.v[25]; }
  set slab_reassign_busy_deletes(x: number) { this.v[25] = x; }
  get slabs_moved(): number { return this.v[26]; }
  set slabs_moved(x: number) { this.v[26] = x; }
  get slab_reassign_running(): number { return this.v[27]; }
  set slab_reassign_running(x: number) { this.v[27] = x; }
  get crawler_reclaimed(): number { return this.v[28]; }
  set crawler_reclaimed(x: number) { this.v[28] = x; }
  get crawler_items_checked(): number { return this.v[29]; }
  set crawler_items_checked(x: number) { this.v[29] = x; }
  get lru_crawler_starts(): number { return this.v[30]; }
  set lru_crawler_starts(x: number) { this.v[30] = x; }
  get lru_maintainer_juggles(): number { return this.v[31]; }
  set lru_maintainer_juggles(x: number) { this.v[31] = x; }
}
