/**
 * `stats` with no argument: memcached 1.6.18's server_stats() + get_stats(NULL)
 * + item_stats_totals(), same names, same order, same conditional fields.
 *
 * Sources: process facts; ServerCounters (read by name, so counters server/ adds
 * later show up); the engine's EngineCounters; per-class counters summed as
 * memcached sums its per-thread slab_stats (cmd_set, get_hits, ...) and its
 * per-LRU itemstats (evictions, reclaimed, ...).
 */
import { readFileSync } from 'node:fs';
import { SERVER_COUNTERS, type ServerContext } from '../server-context.js';
import { ENGINE_COUNTERS, globalPoolPages, hashTableStats } from '../cache/inspect.js';
import { num, Pairs, rusage, sum, u } from './util.js';

/**
 * A server counter over every thread, as memcached sums its per-thread stats.
 * accepting_conns says whether the daemon accepts: 0 while any thread holds
 * connections back.
 */
export function serverTotal(ctx: ServerContext, name: string, dflt = 0): number {
  const all = ctx.threadCounters;
  if (all === undefined) return num(ctx.counters, name, dflt);
  let t = name === 'accepting_conns' ? 1 : 0;
  for (const c of all) {
    const v = num(c, name, dflt);
    if (name === 'accepting_conns') t = Math.min(t, v);
    else t += v;
  }
  return t;
}

/** package.json's version, read once. */
export const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

/** What stands in for libevent: Node's event loop is libuv. */
export const EVENT_LIB = `libuv-${process.versions.uv}`;

/** Unix time as the daemon's coarse clock has it (memcached's current_time + process_started). */
export function unixNow(ctx: ServerContext): number {
  return ctx.cache.clock.processStarted + ctx.cache.clock.now;
}

export function generalStats(ctx: ServerContext): Pairs {
  const { cache, settings: s } = ctx;
  const ec = cache.counters;
  const cc = cache.classCounters;
  const cpu = process.cpuUsage();
  const now = unixNow(ctx);
  const out: Pairs = [];
  const add = (name: string, value: string | number): void => {
    out.push([name, typeof value === 'number' ? u(value) : value]);
  };
  const srv = (name: string, dflt = 0): void => add(name, serverTotal(ctx, name, dflt));

  add('pid', process.pid);
  add('uptime', Math.max(0, now - ctx.startedAt));
  add('time', now);
  add('version', VERSION);
  add('libevent', EVENT_LIB);
  add('pointer_size', 64);
  add('rusage_user', rusage(cpu.user));
  add('rusage_system', rusage(cpu.system));
  add('max_connections', s.maxconns);
  srv('curr_connections');
  srv('total_connections');
  if (s.maxconnsFast) srv('rejected_connections');
  srv('connection_structures');
  srv('response_obj_oom');
  srv('response_obj_count');
  srv('response_obj_bytes');
  srv('read_buf_count');
  srv('read_buf_bytes');
  srv('read_buf_bytes_free');
  srv('read_buf_oom');
  srv('reserved_fds');
  add('cmd_get', ec.get_cmds);
  add('cmd_set', sum(cc.cmd_set));
  srv('cmd_flush');
  add('cmd_touch', ec.touch_cmds);
  srv('cmd_meta');
  add('get_hits', sum(cc.get_hits));
  add('get_misses', ec.get_misses);
  add('get_expired', ec.get_expired);
  add('get_flushed', ec.get_flushed);
  add('delete_misses', ec.delete_misses);
  add('delete_hits', sum(cc.delete_hits));
  add('incr_misses', ec.incr_misses);
  add('incr_hits', sum(cc.incr_hits));
  add('decr_misses', ec.decr_misses);
  add('decr_hits', sum(cc.decr_hits));
  add('cas_misses', ec.cas_misses);
  add('cas_hits', sum(cc.cas_hits));
  add('cas_badval', sum(cc.cas_badval));
  add('touch_hits', sum(cc.touch_hits));
  add('touch_misses', ec.touch_misses);
  srv('store_too_large');
  srv('store_no_memory');
  srv('auth_cmds');
  srv('auth_errors');
  if (s.idleTimeout) srv('idle_kicks');
  srv('bytes_read');
  srv('bytes_written');
  add('limit_maxbytes', s.maxbytes);
  srv('accepting_conns');
  srv('listen_disabled_num');
  srv('time_in_listen_disabled_us');
  add('threads', s.numThreads);
  srv('conn_yields');
  const hash = hashTableStats(cache);
  add('hash_power_level', hash.hashpower);
  add('hash_bytes', hash.bytes);
  add('hash_is_expanding', hash.expanding ? 1 : 0);
  if (s.slabReassign) {
    add('slab_reassign_rescues', ec.slab_reassign_rescues);
    add('slab_reassign_chunk_rescues', ec.slab_reassign_chunk_rescues);
    add('slab_reassign_evictions_nomem', ec.slab_reassign_evictions_nomem);
    add('slab_reassign_inline_reclaim', ec.slab_reassign_inline_reclaim);
    add('slab_reassign_busy_items', ec.slab_reassign_busy_items);
    add('slab_reassign_busy_deletes', ec.slab_reassign_busy_deletes);
    add('slab_reassign_running', ec.slab_reassign_running);
    add('slabs_moved', ec.slabs_moved);
  }
  if (s.lruCrawler) {
    add('lru_crawler_running', ctx.crawler.busy ? 1 : 0);
    add('lru_crawler_starts', ec.lru_crawler_starts);
  }
  if (s.lruMaintainer) add('lru_maintainer_juggles', ec.lru_maintainer_juggles);
  add('malloc_fails', ec.malloc_fails);
  srv('log_worker_dropped');
  srv('log_worker_written');
  srv('log_watcher_skipped');
  srv('log_watcher_sent');
  srv('log_watchers');
  srv('unexpected_napi_ids');
  srv('round_robin_fallback');
  add('bytes', ec.bytes);
  add('curr_items', ec.curr_items);
  add('total_items', ec.total_items);
  add('slab_global_page_pool', globalPoolPages(cache));
  // item_stats_totals: sums over every class's LRUs
  add('expired_unfetched', sum(cc.expired_unfetched));
  add('evicted_unfetched', sum(cc.evicted_unfetched));
  if (s.lruMaintainer) add('evicted_active', sum(cc.evicted_active));
  add('evictions', sum(cc.evicted));
  add('reclaimed', sum(cc.reclaimed));
  add('crawler_reclaimed', sum(cc.crawler_reclaimed));
  add('crawler_items_checked', sum(cc.crawler_items_checked));
  add('lrutail_reflocked', sum(cc.lrutail_reflocked));
  if (s.lruMaintainer) {
    add('moves_to_cold', sum(cc.moves_to_cold));
    add('moves_to_warm', sum(cc.moves_to_warm));
    add('moves_within_lru', sum(cc.moves_within_lru));
    add('direct_reclaims', sum(cc.direct_reclaims));
    add('lru_bumps_dropped', ec.lru_bumps_dropped);
  }
  return out;
}

/** ServerCounters fields that describe the present, not history: `stats reset` keeps them. */
const SERVER_GAUGES = new Set([
  'curr_connections', 'connection_structures', 'reserved_fds', 'accepting_conns',
  'read_buf_count', 'read_buf_bytes', 'read_buf_bytes_free', 'log_watchers',
]);
/** EngineCounters gauges (memcached's stats_state). */
const ENGINE_GAUGES = new Set(['curr_items', 'bytes', 'slab_reassign_running']);

/**
 * `stats reset`: zeroes every counter memcached zeroes (struct stats, the thread
 * stats, the per-LRU item stats) and keeps the gauges (items, bytes, connections).
 */
export function resetStats(ctx: ServerContext): void {
  for (const c of ctx.threadCounters ?? [ctx.counters]) {
    for (const k of SERVER_COUNTERS) if (!SERVER_GAUGES.has(k)) c[k] = 0;
  }
  const ec = ctx.cache.counters;
  for (const k of ENGINE_COUNTERS) if (!ENGINE_GAUGES.has(k)) ec[k] = 0;
  const cc = ctx.cache.classCounters;
  for (const k of Object.keys(cc) as Array<keyof typeof cc>) if (k !== 'mem_requested') cc[k].fill(0);
}
