/**
 * `-o key=value,...`: memcached's extended options, read with getsubopt() semantics
 * (comma separated items, a trailing comma ignored, each key with or without a value)
 * into Settings, with memcached's refusal wording where it has one. The keys and their
 * help lines are in flag-table.ts (EXT_OPTIONS); rules that tie an -o key to other
 * flags (slab_chunk_max vs -I, hot + warm pct, slab_sizes) are in flag-rules.ts.
 */
import { MB } from '../config.js';
import type { CliError } from './cli-error.js';
import type { FlagSpec } from './flag-table.js';
import { bad, type ParseState, toFloat, toInt } from './flag-values.js';

/** Apply one `-o` argument: getsubopt() semantics, key[=value] items separated by commas. */
export function applyExtended(st: ParseState, f: FlagSpec, arg: string): void {
  const items = arg.split(',');
  if (items.length > 1 && items[items.length - 1] === '') items.pop(); // getsubopt ignores a trailing comma
  if (arg === '') return; // memcached: nothing to do
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? null : item.slice(eq + 1);
    applySubopt(st, f, item, key, value);
    st.s.extraOptions[key] = value ?? '';
  }
}

function applySubopt(st: ParseState, f: FlagSpec, item: string, key: string, value: string | null): void {
  const s = st.s;
  const fail = (why: string): CliError => bad(f, item, why);
  /** the value; memcached words a missing one differently from key to key */
  const need = (missing = `Missing ${key} argument`): string => {
    if (value === null || value === '') throw fail(missing);
    return value;
  };
  const noValue = (hint = ''): void => {
    if (value !== null) throw fail(`${key} takes no value${hint}`);
  };
  const int = (lo: number, hi: number, message: string, missing?: string): number => {
    const n = toInt(need(missing));
    if (n === null || n < lo || n > hi) throw fail(message);
    return n;
  };
  const float = (ok: (n: number) => boolean, message: string): number => {
    const n = toFloat(need());
    if (n === null || !ok(n)) throw fail(message);
    return n;
  };
  /** ssl_verify_mode, ssl_min_version: 0 to 3, with memcached's two distinct refusals */
  const sslLevel = (): number => {
    const n = toInt(need());
    if (n === null) throw fail(`could not parse argument to ${key}`);
    if (n < 0 || n > 3) throw fail(`Invalid ${key}. Use help to see valid options.`);
    return n;
  };
  const U32 = 0xffffffff;

  if (key.startsWith('ext_')) {
    throw fail('extstore (the ext_* options) is not supported: slabcache keeps every item in memory');
  }
  switch (key) {
    case 'maxconns_fast': noValue(); s.maxconnsFast = true; return;
    case 'no_maxconns_fast': noValue(); s.maxconnsFast = false; return;
    case 'hashpower': {
      const n = toInt(need('Missing numeric argument for hashpower'));
      if (n === null) throw fail('hashpower must be a whole number from 12 to 32');
      if (n < 12) throw fail(`Initial hashtable multiplier of ${n} is too low`);
      if (n > 32) throw fail(`Initial hashtable multiplier of ${n} is too high; choose a value based on "STAT hash_power_level" from a running instance`);
      s.hashpowerInit = n;
      return;
    }
    case 'no_hashexpand': noValue(); s.noHashexpand = true; return;
    case 'tail_repair_time':
      s.tailRepairTime = int(10, U32, 'Cannot set tail_repair_time to less than 10 seconds',
        'Missing numeric argument for tail_repair_time');
      return;
    case 'hash_algorithm': {
      const v = need();
      if (v !== 'murmur3' && v !== 'jenkins' && v !== 'xxh3') throw fail('Unknown hash_algorithm option (jenkins, murmur3, xxh3)');
      s.hashAlgorithm = v;
      return;
    }
    case 'slab_reassign': noValue(' (no_slab_reassign turns it off)'); s.slabReassign = true; return;
    case 'no_slab_reassign': noValue(); s.slabReassign = false; return;
    case 'slab_automove': {
      if (value === null) { s.slabAutomove = 1; return; }
      s.slabAutomove = int(0, 2, 'slab_automove must be between 0 and 2');
      return;
    }
    case 'no_slab_automove': noValue(); s.slabAutomove = 0; return;
    case 'slab_automove_ratio':
      s.slabAutomoveRatio = float((n) => n > 0 && n <= 1, 'slab_automove_ratio must be > 0 and < 1');
      return;
    case 'slab_automove_window':
      s.slabAutomoveWindow = int(3, U32, 'slab_automove_window must be > 2');
      return;
    case 'slab_automove_freeratio':
      float((n) => n >= 0 && n <= 1, 'could not parse argument to slab_automove_freeratio');
      return;
    case 'slab_chunk_max': {
      // memcached's help says kilobytes, but 1.6 reads bytes (its own error lines say "bytes")
      s.slabChunkMax = int(1, 0x7fffffff, 'could not parse argument to slab_chunk_max');
      st.slabChunkChanged = true;
      return;
    }
    case 'slab_sizes': st.slabSizesRaw = need(); return;
    case 'no_chunked_items': noValue(); s.slabChunkMax = s.slabPageSize; return;
    case 'lru_crawler': noValue(' (no_lru_crawler turns it off)'); s.lruCrawler = true; return;
    case 'no_lru_crawler': noValue(); s.lruCrawler = false; return;
    case 'lru_crawler_sleep':
      s.lruCrawlerSleep = int(0, 1_000_000, 'LRU crawler sleep must be between 0 and 1 second',
        'Missing lru_crawler_sleep value');
      return;
    case 'lru_crawler_tocrawl':
      s.lruCrawlerTocrawl = int(0, U32, 'lru_crawler_tocrawl takes a numeric 32bit value', 'Missing lru_crawler_tocrawl value');
      return;
    case 'lru_maintainer':
      noValue(' (no_lru_maintainer turns it off)');
      s.lruMaintainer = true; s.lruSegmented = true;
      return;
    case 'no_lru_maintainer': noValue(); s.lruMaintainer = false; s.lruSegmented = false; return;
    case 'hot_lru_pct': s.hotLruPct = int(1, 79, 'hot_lru_pct must be > 1 and < 80'); return;
    case 'warm_lru_pct': s.warmLruPct = int(1, 79, 'warm_lru_pct must be > 1 and < 80'); return;
    case 'hot_max_factor': s.hotMaxFactor = float((n) => n > 0, 'hot_max_factor must be > 0'); return;
    case 'warm_max_factor': s.warmMaxFactor = float((n) => n > 0, 'warm_max_factor must be > 0'); return;
    case 'temporary_ttl':
      s.temporaryTtl = int(0, U32, 'temporary_ttl must be a whole number of seconds');
      s.tempLru = true;
      return;
    case 'idle_timeout':
      s.idleTimeout = int(0, U32, 'idle_timeout must be a whole number of seconds (0: never)',
        'Missing numeric argument for idle_timeout');
      return;
    case 'watcher_logbuf_size':
      s.watcherLogbufSize = int(0, U32, 'could not parse argument to watcher_logbuf_size') * 1024;
      return;
    case 'worker_logbuf_size':
      s.workerLogbufSize = int(0, U32, 'could not parse argument to worker_logbuf_size') * 1024;
      return;
    case 'read_buf_mem_limit':
      s.readBufMemLimit = int(0, U32, 'could not parse argument to read_buf_mem_limit') * MB;
      return;
    case 'resp_obj_mem_limit':
      st.warnings.push('DEPRECATED: resp_obj_mem_limit no longer used. See read_buf_mem_limit,');
      return;
    case 'track_sizes': noValue(); s.trackSizes = true; return;
    // memcached 1.6 dropped the inline layout: both are accepted and change nothing
    case 'inline_ascii_resp': case 'no_inline_ascii_resp': noValue(); return;
    case 'modern': noValue(); s.modern = true; return; // memcached 1.6.18: "currently: nothing"
    case 'no_modern':
      noValue();
      s.modern = false;
      if (!st.slabChunkChanged) s.slabChunkMax = s.slabPageSize;
      s.slabReassign = false;
      s.slabAutomove = 0;
      s.maxconnsFast = false;
      s.lruSegmented = false;
      s.hashAlgorithm = 'jenkins';
      s.lruCrawler = false;
      s.lruMaintainer = false;
      return;
    case 'drop_privileges': noValue(); s.noEffect.push('-o drop_privileges'); return;
    case 'no_drop_privileges': noValue(); return; // asks for what happens here anyway
    case 'sock_cookie_id': int(0, U32, 'sock_cookie_id must be a whole number'); s.noEffect.push('-o sock_cookie_id'); return;
    case 'ssl_chain_cert': s.ssl_chain_cert = need(); return;
    case 'ssl_key': s.ssl_key = need(); return;
    case 'ssl_ca_cert': s.ssl_ca_cert = need(); return;
    case 'ssl_ciphers': s.ssl_ciphers = need(); return;
    case 'ssl_keyformat': s.ssl_keyformat = int(0, U32, 'could not parse argument to ssl_keyformat'); return;
    case 'ssl_verify_mode': s.ssl_verify_mode = sslLevel(); return;
    case 'ssl_wbuf_size': s.ssl_wbuf_size = int(0, U32, 'could not parse argument to ssl_wbuf_size') * 1024; return;
    case 'ssl_session_cache': noValue(); s.ssl_session_cache = true; return;
    case 'ssl_kernel_tls': noValue(); s.ssl_kernel_tls = true; return;
    case 'ssl_min_version': s.ssl_min_version = sslLevel(); return;
    case 'max_output_bytes': {
      const m = /^(\d+)([kKmMgG]?)$/.exec(need().trim());
      const unit = m === null ? '' : m[2].toLowerCase();
      const n = m === null ? NaN : Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? MB : unit === 'g' ? 1024 * MB : 1);
      if (!Number.isSafeInteger(n) || n < 1024) throw fail('max_output_bytes must be at least 1024 bytes (k, m, g suffixes ok)');
      s.maxOutputBytes = n;
      return;
    }
    case 'metrics_port': s.metricsPort = int(0, 65535, 'metrics_port must be a TCP port, 0 to 65535 (0: off)'); return;
    case 'metrics_addr': s.metricsAddr = need(); return;
    default:
      throw fail(`Illegal suboption ${JSON.stringify(item)} (see --help for the -o keys)`);
  }
}
