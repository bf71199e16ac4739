/**
 * Our stats as prometheus/memcached_exporter (pkg/exporter/exporter.go) turns
 * memcached's into metrics: the same names, labels, types and help text, from the
 * same `stats`, `stats settings`, `stats items` and `stats slabs` fields, so a
 * dashboard or alert written for the exporter reads slabcache unchanged. What we
 * count beyond those comes under `slabcache_` names.
 *
 * It reads counters and nothing else: a scrape never takes the engine anywhere.
 */
import type { ServerContext } from '../server-context.js';
import { generalStats } from '../stats/general.js';
import { itemsStats } from '../stats/items.js';
import { settingsStats } from '../stats/settings.js';
import { slabsStats } from '../stats/slabs.js';

export type MetricType = 'counter' | 'gauge';

export interface Family {
  name: string;
  help: string;
  type: MetricType;
  labelNames: string[];
  samples: Array<{ labels: Record<string, string>; value: number }>;
}

type Stats = Map<string, string>;

const MEMCACHED_UP_HELP = 'Could the memcached server be reached.';

/**
 * Every metric family, in the exporter's Describe() order, then ours. The caller
 * holds the engine lock: `stats items` and `stats slabs` walk the LRUs and slab
 * tables that worker threads change under it.
 */
export function collectFamilies(ctx: ServerContext): Family[] {
  if (!ctx.cache.lock.held) throw new Error('metrics read the engine without its lock');
  const s: Stats = new Map(generalStats(ctx));
  const settings: Stats = new Map(settingsStats(ctx));
  const slabPairs = slabsStats(ctx);
  const fams = new Map<string, Family>();
  const fam = (name: string, type: MetricType, help: string, labelNames: string[] = []): Family => {
    let f = fams.get(name);
    if (f === undefined) {
      f = { name, help, type, labelNames, samples: [] };
      fams.set(name, f);
    }
    return f;
  };
  /** the exporter's parseAndNewMetric: a sample when the stat is there */
  const put = (name: string, type: MetricType, help: string, from: Stats, key: string,
    labels: Record<string, string> = {}): void => {
    const v = from.get(key);
    if (v === undefined) return;
    const n = Number(v);
    if (!Number.isFinite(n)) return;
    fam(name, type, help, Object.keys(labels)).samples.push({ labels, value: n });
  };
  const m = (n: string): string => `memcached_${n}`;

  fam(m('up'), 'gauge', MEMCACHED_UP_HELP).samples.push({ labels: {}, value: 1 });
  put(m('uptime_seconds'), 'counter', 'Number of seconds since the server started.', s, 'uptime');
  put(m('time_seconds'), 'gauge', 'current UNIX time according to the server.', s, 'time');
  fam(m('version'), 'gauge', 'The version of this memcached server.', ['version'])
    .samples.push({ labels: { version: s.get('version') ?? '' }, value: 1 });
  put(m('process_user_cpu_seconds_total'), 'counter', 'Accumulated user time for this process.', s, 'rusage_user');
  put(m('process_system_cpu_seconds_total'), 'counter', 'Accumulated system time for this process.', s, 'rusage_system');
  put(m('read_bytes_total'), 'counter', 'Total number of bytes read by this server from network.', s, 'bytes_read');
  put(m('written_bytes_total'), 'counter', 'Total number of bytes sent by this server to network.', s, 'bytes_written');
  put(m('current_connections'), 'gauge', 'Current number of open connections.', s, 'curr_connections');
  put(m('max_connections'), 'gauge', 'Maximum number of clients allowed.', settings, 'maxconns');
  put(m('connections_total'), 'counter', 'Total number of connections opened since the server started running.', s, 'total_connections');
  put(m('connections_rejected_total'), 'counter',
    "Total number of connections rejected due to hitting the memcached's -c limit in maxconns_fast mode.", s, 'rejected_connections');
  put(m('connections_yielded_total'), 'counter',
    "Total number of connections yielded running due to hitting the memcached's -R limit.", s, 'conn_yields');
  put(m('connections_listener_disabled_total'), 'counter',
    'Number of times that memcached has hit its connections limit and disabled its listener.', s, 'listen_disabled_num');
  put(m('current_bytes'), 'gauge', 'Current number of bytes used to store items.', s, 'bytes');
  put(m('limit_bytes'), 'gauge', 'Number of bytes this server is allowed to use for storage.', s, 'limit_maxbytes');

  const CMD_HELP = 'Total number of all requests broken down by command (get, set, etc.) and status.';
  const cmds = fam(m('commands_total'), 'counter', CMD_HELP, ['command', 'status']);
  const cmd = (key: string, command: string, status: string): void => {
    const v = s.get(key);
    if (v !== undefined) cmds.samples.push({ labels: { command, status }, value: Number(v) });
  };
  for (const op of ['get', 'delete', 'incr', 'decr', 'cas', 'touch']) {
    cmd(`${op}_hits`, op, 'hit');
    cmd(`${op}_misses`, op, 'miss');
  }
  cmd('cas_badval', 'cas', 'badval');
  cmd('cmd_flush', 'flush', 'hit');
  // memcached counts cas again in cmd_set: the exporter takes it out
  cmds.samples.push({
    labels: { command: 'set', status: 'hit' },
    value: Number(s.get('cmd_set')) - Number(s.get('cas_misses')) - Number(s.get('cas_hits')) - Number(s.get('cas_badval')),
  });

  put(m('current_items'), 'gauge', 'Current number of items stored by this instance.', s, 'curr_items');
  put(m('items_total'), 'counter', 'Total number of items stored during the life of this instance.', s, 'total_items');
  put(m('items_evicted_total'), 'counter', 'Total number of valid items removed from cache to free memory for new items.', s, 'evictions');
  put(m('items_reclaimed_total'), 'counter', 'Total number of times an entry was stored using memory from an expired entry.', s, 'reclaimed');
  put(m('item_too_large_total'), 'counter', 'The number of times an item exceeded the max-item-size when being stored.', s, 'store_too_large');
  put(m('item_no_memory_total'), 'counter', 'The number of times an item could not be stored due to no more memory.', s, 'store_no_memory');
  if (settings.get('lru_crawler') === 'yes') {
    const lc = (n: string): string => m(`lru_crawler_${n}`);
    fam(lc('enabled'), 'gauge', 'Whether the LRU crawler is enabled.').samples.push({ labels: {}, value: 1 });
    put(lc('sleep'), 'gauge', 'Microseconds to sleep between LRU crawls.', settings, 'lru_crawler_sleep');
    put(lc('to_crawl'), 'gauge', 'Max items to crawl per slab per run.', settings, 'lru_crawler_tocrawl');
    const mt = settings.get('lru_maintainer_thread');
    if (mt !== undefined) {
      fam(lc('maintainer_thread'), 'gauge', 'Split LRU mode and background threads.')
        .samples.push({ labels: {}, value: mt === 'yes' ? 1 : 0 });
    }
    put(lc('hot_percent'), 'gauge', 'Percent of slab memory reserved for HOT LRU.', settings, 'hot_lru_pct');
    put(lc('warm_percent'), 'gauge', 'Percent of slab memory reserved for WARM LRU.', settings, 'warm_lru_pct');
    put(lc('hot_max_factor'), 'gauge', 'Set idle age of HOT LRU to COLD age * this', settings, 'hot_max_factor');
    put(lc('warm_max_factor'), 'gauge', 'Set idle age of WARM LRU to COLD age * this', settings, 'warm_max_factor');
  }
  put(m('lru_crawler_starts_total'), 'counter', 'Times an LRU crawler was started.', s, 'lru_crawler_starts');
  put(m('direct_reclaims_total'), 'counter', 'Times worker threads had to directly reclaim or evict items.', s, 'direct_reclaims');
  put(m('lru_crawler_reclaimed_total'), 'counter', 'Total items freed by LRU Crawler.', s, 'crawler_reclaimed');
  put(m('lru_crawler_items_checked_total'), 'counter', 'Total items examined by LRU Crawler.', s, 'crawler_items_checked');
  put(m('lru_crawler_moves_to_cold_total'), 'counter', "Total number of items moved from HOT/WARM to COLD LRU's.", s, 'moves_to_cold');
  put(m('lru_crawler_moves_to_warm_total'), 'counter', 'Total number of items moved from COLD to WARM LRU.', s, 'moves_to_warm');
  put(m('lru_crawler_moves_within_lru_total'), 'counter', "Total number of items reshuffled within HOT or WARM LRU's.", s, 'moves_within_lru');
  const slabs: Stats = new Map(slabPairs);
  put(m('malloced_bytes'), 'gauge', 'Number of bytes of memory allocated to slab pages.', slabs, 'total_malloced');
  put(m('accepting_connections'), 'gauge', 'The Memcached server is currently accepting new connections.', s, 'accepting_conns');

  itemFamilies(itemsStats(ctx), put);
  slabFamilies(slabPairs, put, fam);
  ownFamilies(s, put);
  return [...fams.values()];
}

type Put = (name: string, type: MetricType, help: string, from: Stats, key: string, labels?: Record<string, string>) => void;
type Fam = (name: string, type: MetricType, help: string, labelNames?: string[]) => Family;

/** `stats items` (items:<class>:<field>): the exporter's per-class item metrics. */
function itemFamilies(pairs: Array<[string, string]>, put: Put): void {
  const byClass = new Map<string, Stats>();
  for (const [k, v] of pairs) {
    const [, cls, field] = k.split(':');
    let st = byClass.get(cls);
    if (st === undefined) byClass.set(cls, (st = new Map()));
    st.set(field, v);
  }
  const sl = (n: string): string => `memcached_slab_${n}`;
  const COUNTERS: Array<[string, string, string]> = [
    ['crawler_reclaimed', 'items_crawler_reclaimed_total', 'Number of items freed by the LRU Crawler.'],
    ['evicted', 'items_evicted_total', 'Total number of times an item had to be evicted from the LRU before it expired.'],
    ['evicted_nonzero', 'items_evicted_nonzero_total',
      'Total number of times an item which had an explicit expire time set had to be evicted from the LRU before it expired.'],
    ['evicted_time', 'items_evicted_time_seconds', 'Seconds since the last access for the most recent item evicted from this class.'],
    ['evicted_unfetched', 'items_evicted_unfetched_total', 'Total nmber of items evicted and never fetched.'],
    ['expired_unfetched', 'items_expired_unfetched_total',
      'Total number of valid items evicted from the LRU which were never touched after being set.'],
    ['outofmemory', 'items_outofmemory_total', 'Total number of items for this slab class that have triggered an out of memory error.'],
    ['reclaimed', 'items_reclaimed_total', 'Total number of items reclaimed.'],
    ['tailrepairs', 'items_tailrepairs_total', 'Total number of times the entries for a particular ID need repairing.'],
    ['moves_to_cold', 'items_moves_to_cold', 'Number of items moved from HOT or WARM into COLD.'],
    ['moves_to_warm', 'items_moves_to_warm', 'Number of items moves from COLD into WARM.'],
    ['moves_within_lru', 'items_moves_within_lru', 'Number of times active items were bumped within HOT or WARM.'],
    // memcached 1.6 reports mem_requested in `stats items`, not `stats slabs`: the
    // exporter then sends it from here, as a counter
    ['mem_requested', 'mem_requested_bytes', 'Number of bytes of memory actual items take up within a slab.'],
  ];
  const GAUGES: Array<[string, string, string]> = [
    ['number_hot', 'hot_items', 'Number of items presently stored in the HOT LRU.'],
    ['number_warm', 'warm_items', 'Number of items presently stored in the WARM LRU.'],
    ['number_cold', 'cold_items', 'Number of items presently stored in the COLD LRU.'],
    ['number_temp', 'temporary_items', 'Number of items presently stored in the TEMPORARY LRU.'],
    ['age_hot', 'hot_age_seconds', 'Age of the oldest item in HOT LRU.'],
    // the exporter's help text for WARM says HOT: kept, so queries and docs match
    ['age_warm', 'warm_age_seconds', 'Age of the oldest item in HOT LRU.'],
  ];
  for (const [slab, st] of byClass) {
    put(sl('current_items'), 'gauge', 'Number of items currently stored in this slab class.', st, 'number', { slab });
    put(sl('items_age_seconds'), 'gauge', 'Number of seconds the oldest item has been in the slab class.', st, 'age', { slab });
    for (const lru of ['hot', 'warm', 'cold', 'temp']) {
      put(sl('lru_hits_total'), 'counter', 'Number of get_hits to the LRU.', st, `hits_to_${lru}`,
        { slab, lru: lru === 'temp' ? 'temporary' : lru });
    }
    for (const [field, name, help] of COUNTERS) put(sl(name), 'counter', help, st, field, { slab });
    for (const [field, name, help] of GAUGES) put(sl(name), 'gauge', help, st, field, { slab });
  }
}

/** `stats slabs` (<class>:<field>): the exporter's slab collector. */
function slabFamilies(pairs: Array<[string, string]>, put: Put, fam: Fam): void {
  const byClass = new Map<string, Stats>();
  for (const [k, v] of pairs) {
    const i = k.indexOf(':');
    if (i < 0) continue; // active_slabs, total_malloced
    const cls = k.slice(0, i);
    let st = byClass.get(cls);
    if (st === undefined) byClass.set(cls, (st = new Map()));
    st.set(k.slice(i + 1), v);
  }
  const sl = (n: string): string => `memcached_slab_${n}`;
  const CMD_HELP = 'Total number of all requests broken down by command (get, set, etc.) and status per slab.';
  for (const [slab, st] of byClass) {
    const cmds = fam(sl('commands_total'), 'counter', CMD_HELP, ['slab', 'command', 'status']);
    for (const op of ['get', 'delete', 'incr', 'decr', 'cas', 'touch']) {
      const v = st.get(`${op}_hits`);
      if (v !== undefined) cmds.samples.push({ labels: { slab, command: op, status: 'hit' }, value: Number(v) });
    }
    const bad = st.get('cas_badval');
    if (bad !== undefined) cmds.samples.push({ labels: { slab, command: 'cas', status: 'badval' }, value: Number(bad) });
    cmds.samples.push({
      labels: { slab, command: 'set', status: 'hit' },
      value: Number(st.get('cmd_set')) - Number(st.get('cas_hits')) - Number(st.get('cas_badval')),
    });
    put(sl('chunk_size_bytes'), 'gauge', 'Number of bytes allocated to each chunk within this slab class.', st, 'chunk_size', { slab });
    put(sl('chunks_per_page'), 'gauge', 'Number of chunks within a single page for this slab class.', st, 'chunks_per_page', { slab });
    put(sl('current_pages'), 'gauge', 'Number of pages allocated to this slab class.', st, 'total_pages', { slab });
    put(sl('current_chunks'), 'gauge', 'Number of chunks allocated to this slab class.', st, 'total_chunks', { slab });
    put(sl('chunks_used'), 'gauge', 'Number of chunks allocated to an item.', st, 'used_chunks', { slab });
    put(sl('chunks_free'), 'gauge', 'Number of chunks not yet allocated items.', st, 'free_chunks', { slab });
    put(sl('chunks_free_end'), 'gauge', 'Number of free chunks at the end of the last allocated page.', st, 'free_chunks_end', { slab });
    put(sl('mem_requested_bytes'), 'gauge', 'Number of bytes of memory actual items take up within a slab.', st, 'mem_requested', { slab });
  }
}

/** What memcached's `stats` has and the exporter does not export: ours to name. */
function ownFamilies(s: Stats, put: Put): void {
  const o = (n: string): string => `slabcache_${n}`;
  put(o('get_expired_total'), 'counter', 'Gets that found their item expired (stats get_expired).', s, 'get_expired');
  put(o('get_flushed_total'), 'counter', 'Gets that found their item flushed (stats get_flushed).', s, 'get_flushed');
  put(o('cmd_get_total'), 'counter', 'Keys requested by get commands (stats cmd_get).', s, 'cmd_get');
  put(o('cmd_touch_total'), 'counter', 'Touch commands (stats cmd_touch).', s, 'cmd_touch');
  put(o('cmd_meta_total'), 'counter', 'Meta commands (stats cmd_meta).', s, 'cmd_meta');
  put(o('auth_commands_total'), 'counter', 'Authentication commands (stats auth_cmds).', s, 'auth_cmds');
  put(o('auth_errors_total'), 'counter', 'Failed authentications (stats auth_errors).', s, 'auth_errors');
  put(o('hash_power_level'), 'gauge', 'Hash table size as a power of two (stats hash_power_level).', s, 'hash_power_level');
  put(o('hash_bytes'), 'gauge', 'Bytes of the hash table (stats hash_bytes).', s, 'hash_bytes');
  put(o('slabs_moved_total'), 'counter', 'Pages moved between slab classes (stats slabs_moved).', s, 'slabs_moved');
  put(o('log_watchers'), 'gauge', 'Connections streaming `watch` lines (stats log_watchers).', s, 'log_watchers');
  put(o('log_watcher_sent_total'), 'counter', 'Lines handed to watchers (stats log_watcher_sent).', s, 'log_watcher_sent');
  put(o('log_watcher_skipped_total'), 'counter', 'Lines a slow watcher missed (stats log_watcher_skipped).', s, 'log_watcher_skipped');
  put(o('log_worker_written_total'), 'counter', 'Log events staged for watchers (stats log_worker_written).', s, 'log_worker_written');
  put(o('log_worker_dropped_total'), 'counter', 'Log events dropped with the staging buffer full (stats log_worker_dropped).', s, 'log_worker_dropped');
  put(o('idle_kicks_total'), 'counter', 'Connections closed for idling (stats idle_kicks).', s, 'idle_kicks');
}
