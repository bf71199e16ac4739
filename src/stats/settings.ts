/**
 * `stats settings`: memcached 1.6.18's process_stat_settings(), same names, order
 * and formats, from our Settings. Fields for features we do not have (extstore)
 * print the values memcached prints when they are not in use, as a Debian
 * memcached does; docs/stats.md lists them.
 */
import type { ServerContext } from '../server-context.js';
import { fixed, Pairs, yesNo } from './util.js';

const PROTOCOL_NAMES: Record<string, string> = { auto: 'auto-negotiate', ascii: 'ascii', binary: 'binary' };
const TLS_VERSIONS = ['tlsv1', 'tlsv1.1', 'tlsv1.2', 'tlsv1.3'];

export function settingsStats(ctx: ServerContext): Pairs {
  const s = ctx.settings;
  const c = ctx.cache;
  const out: Pairs = [];
  const add = (name: string, value: string | number | boolean): void => {
    out.push([name, typeof value === 'boolean' ? yesNo(value) : String(value)]);
  };
  add('maxbytes', s.maxbytes);
  add('maxconns', s.maxconns);
  add('tcpport', s.port);
  add('udpport', s.udpport);
  add('inter', s.interfaces.length > 0 ? s.interfaces.join(',') : 'NULL');
  add('verbosity', s.verbose);
  add('oldest', c.oldestLive);
  add('evictions', c.evictToFree ? 'on' : 'off');
  add('domain_socket', s.socketpath ?? 'NULL');
  add('umask', s.accessMask.toString(8));
  add('shutdown_command', s.shutdownEnabled);
  add('growth_factor', fixed(s.growthFactor, 2));
  add('chunk_size', s.chunkSize);
  add('num_threads', s.numThreads);
  add('num_threads_per_udp', s.numThreads);
  add('stat_key_prefix', s.prefixDelimiter);
  add('detail_enabled', s.detailEnabled);
  add('reqs_per_event', s.reqsPerEvent);
  add('cas_enabled', s.useCas);
  add('tcp_backlog', s.backlog);
  add('binding_protocol', PROTOCOL_NAMES[s.protocol] ?? s.protocol);
  add('auth_enabled_sasl', s.sasl);
  add('auth_enabled_ascii', s.authFile ?? 'no');
  add('item_size_max', s.itemSizeMax);
  add('maxconns_fast', s.maxconnsFast);
  add('hashpower_init', s.hashpowerInit);
  add('slab_reassign', s.slabReassign);
  add('slab_automove', s.slabAutomove);
  add('slab_automove_ratio', fixed(s.slabAutomoveRatio, 2));
  add('slab_automove_window', s.slabAutomoveWindow);
  add('slab_chunk_max', s.slabChunkMax);
  add('lru_crawler', s.lruCrawler);
  add('lru_crawler_sleep', s.lruCrawlerSleep);
  add('lru_crawler_tocrawl', s.lruCrawlerTocrawl);
  add('tail_repair_time', s.tailRepairTime);
  add('flush_enabled', s.flushEnabled);
  add('dump_enabled', s.dumpEnabled);
  add('hash_algorithm', s.hashAlgorithm);
  add('lru_maintainer_thread', s.lruMaintainer);
  add('lru_segmented', s.lruSegmented);
  add('hot_lru_pct', s.hotLruPct);
  add('warm_lru_pct', s.warmLruPct);
  add('hot_max_factor', fixed(s.hotMaxFactor, 2));
  add('warm_max_factor', fixed(s.warmMaxFactor, 2));
  add('temp_lru', s.tempLru);
  add('temporary_ttl', s.temporaryTtl);
  add('idle_timeout', s.idleTimeout);
  add('watcher_logbuf_size', s.watcherLogbufSize);
  add('worker_logbuf_size', s.workerLogbufSize);
  add('read_buf_mem_limit', s.readBufMemLimit);
  add('track_sizes', ctx.stats.sizesCasMin >= 0);
  add('inline_ascii_response', 'no'); // dead in memcached too: cannot be yes
  // extstore is not implemented: these are memcached's defaults, unused
  add('ext_item_size', 512);
  add('ext_item_age', 4294967295);
  add('ext_low_ttl', 0);
  add('ext_recache_rate', 2000);
  add('ext_wbuf_size', 4194304);
  add('ext_compact_under', 0);
  add('ext_drop_under', 0);
  add('ext_max_sleep', 1000000);
  add('ext_max_frag', '0.80');
  add('slab_automove_freeratio', '0.010');
  add('ext_drop_unread', 'no');
  add('ssl_enabled', s.ssl);
  add('ssl_chain_cert', s.ssl_chain_cert ?? '(null)');
  add('ssl_key', s.ssl_key ?? '(null)');
  add('ssl_verify_mode', s.ssl_verify_mode);
  add('ssl_keyformat', s.ssl_keyformat);
  add('ssl_ciphers', s.ssl_ciphers ?? 'NULL');
  add('ssl_ca_cert', s.ssl_ca_cert ?? 'NULL');
  add('ssl_wbuf_size', s.ssl_wbuf_size);
  add('ssl_session_cache', s.ssl_session_cache);
  add('ssl_kernel_tls', s.ssl_kernel_tls);
  add('ssl_min_version', TLS_VERSIONS[s.ssl_min_version] ?? 'unknown');
  add('num_napi_ids', s.napiIds > 0 ? s.napiIds : '(null)');
  add('memory_file', s.memoryFile ?? '(null)');
  return out;
}
