/**
 * memcached 1.6's command line, parsed into Settings.
 *
 * memcached reads its flags with getopt_long: short flags cluster (`-vvv`, `-MC`), a short
 * flag's value may be glued on (`-p11211`, `-I2m`) or be the next word even when that word
 * starts with a dash (`-D -`), long flags take `--name=value` or `--name value`, and a long
 * name may be shortened to any unambiguous prefix (`--conn=10`). We replay that tokenising
 * ourselves (getoptNormalise), hand yargs an argv in one canonical form (`--name=value`,
 * `--name`), and let yargs collect the values, counts and repeats.
 *
 * Then every value is checked strictly. memcached uses atoi() for most numbers, so it quietly
 * turns `-m 1g` into 1 MB and `-p abc` into "TCP off"; we refuse those with one line that
 * names the flag. Where memcached does refuse, the line carries memcached's own wording, so
 * anyone who knows memcached's messages recognises ours.
 *
 * memcached 1.6.18 refusals and exit codes, as the real binary prints them (we always exit 1):
 *   -p 70000           ERROR: Invalid port number 70000.                                   (64)
 *   -f 1               Factor must be greater than 1                                       (1)
 *   -n 0               Chunk size must be greater than 0                                   (1)
 *   -t 0               Number of threads must be greater than 0                            (1)
 *   -c 0               Maximum connections must be greater than 0                          (1)
 *   -R 0               Number of requests per event must be greater than 0                 (1)
 *   -B foo             Invalid value for binding protocol: foo -- should be one of ...     (64)
 *   -D ''              No delimiter specified                                              (1)
 *   -I 512 / -I 2g     Item max size cannot be less than 1024 bytes.  (2g is atoi'd to 2)  (64)
 *   -I 33m (-m 64)     Cannot set item size limit higher than 1/2 of memory max.           (64)
 *   -m 4096 -I 1025m   Cannot set item size limit higher than a gigabyte.                  (64)
 *   -I 1k              slab_chunk_max (bytes: 524288) cannot be larger than -I (item_size_max 1024) (64)
 *   -I 1000k           -I (item_size_max: 1024000) must be evenly divisible by slab_chunk_max (bytes: 524288) (64)
 *   -m 1g / -m abc     (atoi: 1 MB / 0 MB) Cannot set item size limit higher than 1/2 of memory max. (64)
 *   -o bogus           Illegal suboption "bogus"                                           (1)
 *   -x / --bogus       invalid option -- 'x' / unrecognized option '--bogus', Illegal argument "?" (1)
 */
import yargs from 'yargs';
import { defaultSettings, MB, type Settings } from '../config.js';
import { parseListenAddress } from '../server/listen-tls.js';
import { CliError } from './cli-error.js';
import { FLAGS, type FlagSpec } from './flag-table.js';
import { ACTION_FLAGS, BY_SHORT, flagName, getoptNormalise, keyOf } from './getopt.js';

export { CliError } from './cli-error.js';
export { EXT_OPTIONS, FLAGS, type ExtSpec, type FlagKind, type FlagSpec } from './flag-table.js';
export { getoptNormalise } from './getopt.js';

/** Everything parseCommandLine found: what to do, the settings, and warnings to print. */
export interface CommandLine {
  action: 'run' | 'help' | 'version' | 'license';
  settings: Settings;
  /** non-fatal remarks memcached prints too (e.g. many threads); print them to stderr */
  warnings: string[];
}

/** Parse argv (without node and script) into Settings. Throws CliError. -h/-V/-i do not change the result. */
export function parseArgs(argv: string[]): Settings {
  return parseCommandLine(argv).settings;
}

/** Hand the canonical tokens to yargs: it types, counts and collects repeats. */
function yargsParse(tokens: string[]): Record<string, unknown> {
  const options: Record<string, { type: 'string' | 'boolean' | 'count'; alias?: string }> = {};
  for (const f of FLAGS) {
    // -h/-V/-i never get here (getoptNormalise stops at them); yargs reserves their names
    if (ACTION_FLAGS.has(f.short)) continue;
    const type = f.kind === 'value' ? 'string' : f.kind === 'bool' ? 'boolean' : 'count';
    options[keyOf(f)] = f.long === null ? { type } : { type, alias: f.short };
  }
  return yargs(tokens)
    .parserConfiguration({
      'camel-case-expansion': false,
      'dot-notation': false,
      'boolean-negation': false,
      'parse-numbers': false,
      'parse-positional-numbers': false,
      'duplicate-arguments-array': true,
      'flatten-duplicate-arrays': true,
      'greedy-arrays': false,
      'strip-aliased': true,
      'halt-at-non-option': false,
    })
    .options(options)
    .strict()
    .help(false)
    .version(false)
    .exitProcess(false)
    .fail((msg: string | null, err: Error | null) => {
      throw new CliError(msg ?? err?.message ?? 'bad command line');
    })
    .parseSync() as Record<string, unknown>;
}

/** Every value given for a flag, in order (yargs gives one value or an array of repeats). */
function valuesOf(parsed: Record<string, unknown>, f: FlagSpec): string[] {
  const v = parsed[keyOf(f)];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => String(x));
}

/** Parse argv (without node and script). Throws CliError with one line naming the flag. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const { tokens, action, given } = getoptNormalise(argv);
  const settings = defaultSettings();
  if (action !== 'run') return { action, settings, warnings: [] };
  const parsed = yargsParse(tokens);
  const warnings: string[] = [];
  const st: State = { s: settings, given, warnings, slabChunkChanged: false, protocolGiven: false, slabSizesRaw: null };
  const lastRaw = new Map<string, string>();
  for (const f of FLAGS) {
    if (!given.has(keyOf(f))) continue;
    const values = valuesOf(parsed, f);
    if (values.length > 0) lastRaw.set(f.short, last(values));
    applyFlag(st, f, values, parsed[keyOf(f)]);
  }
  crossChecks(st, lastRaw);
  return { action, settings, warnings };
}

interface State {
  s: Settings;
  given: Set<string>;
  warnings: string[];
  /** slab_chunk_max was set explicitly, so -I > 1m and no_modern leave it alone */
  slabChunkChanged: boolean;
  protocolGiven: boolean;
  slabSizesRaw: string | null;
}

/** One line: the flag, the value it got (when there is one to show), and why it is refused. */
function bad(f: FlagSpec, raw: string | null, why: string): CliError {
  const value = raw === null ? '' : ` ${JSON.stringify(raw)}`;
  return new CliError(`${flagName(f)}${value}: ${why}`, flagName(f));
}

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A whole decimal number, or null. */
function toInt(raw: string): number | null {
  const t = raw.trim();
  if (!INT_RE.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : null;
}

function toFloat(raw: string): number | null {
  const t = raw.trim();
  if (!FLOAT_RE.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/** The last value of a flag that may repeat: memcached keeps the last. */
function last(values: string[]): string {
  return values[values.length - 1];
}

function applyFlag(st: State, f: FlagSpec, values: string[], rawParsed: unknown): void {
  const s = st.s;
  if (f.kind === 'bool') {
    const on = rawParsed === true || (Array.isArray(rawParsed) && rawParsed.includes(true));
    if (!on) return;
    switch (f.short) {
      case 'A': s.shutdownEnabled = true; break;
      case 'd': s.daemonize = true; break;
      case 'r': s.maxCore = true; break;
      case 'M': s.evictToFree = false; break;
      case 'k': s.lockMemory = true; break;
      case 'L': s.preallocate = true; break;
      case 'C': s.useCas = false; break;
      case 'S': s.sasl = true; break;
      case 'F': s.flushEnabled = false; break;
      case 'X': s.dumpEnabled = false; break;
      case 'W': s.watchEnabled = false; break;
      case 'Z': s.ssl = true; break;
      default: throw new Error(`unhandled flag -${f.short}`);
    }
    return;
  }
  if (f.kind === 'count') {
    const n = typeof rawParsed === 'number' ? rawParsed : values.length;
    s.verbose = n;
    return;
  }
  if (f.short === 'l') {
    applyListen(st, f, values);
    return;
  }
  if (f.short === 'o') {
    for (const v of values) applyExtended(st, f, v);
    return;
  }
  const raw = last(values);
  switch (f.short) {
    case 'p': s.port = port(f, raw, 'TCP'); break;
    case 'U': s.udpport = port(f, raw, 'UDP'); break;
    case 's': s.socketpath = nonEmpty(f, raw, 'a path for the UNIX socket'); break;
    case 'a': {
      if (!/^0?[0-7]{1,3}$/.test(raw.trim())) throw bad(f, raw, 'not an octal access mask such as 700 or 0660');
      s.accessMask = parseInt(raw.trim(), 8);
      break;
    }
    case 'u': s.username = nonEmpty(f, raw, 'a user name'); break;
    case 'm': {
      const n = toInt(raw);
      if (n === null) {
        throw bad(f, raw, 'not a whole number of megabytes (memcached reads -m in megabytes with no suffix: for 1 GiB use -m 1024)');
      }
      if (n <= 0) throw bad(f, raw, 'memory limit must be at least 1 megabyte');
      if (!Number.isSafeInteger(n * MB)) throw bad(f, raw, 'memory limit too large');
      s.maxbytes = n * MB;
      break;
    }
    case 'c': s.maxconns = positiveInt(f, raw, 'Maximum connections must be greater than 0'); break;
    case 't': {
      s.numThreads = positiveInt(f, raw, 'Number of threads must be greater than 0');
      if (s.numThreads > 64) {
        st.warnings.push('WARNING: Setting a high number of worker threads is not recommended. Set this value to the number of cores in your machine or less.');
      }
      break;
    }
    case 'R': s.reqsPerEvent = positiveInt(f, raw, 'Number of requests per event must be greater than 0'); break;
    case 'P': s.pidFile = nonEmpty(f, raw, 'a file name for the pid'); break;
    case 'f': {
      const n = toFloat(raw);
      if (n === null || n <= 1) throw bad(f, raw, 'Factor must be greater than 1');
      s.growthFactor = n;
      break;
    }
    case 'n': s.chunkSize = positiveInt(f, raw, 'Chunk size must be greater than 0'); break;
    case 'D': {
      if (raw.length === 0) throw bad(f, raw, 'No delimiter specified');
      // memcached keeps the first character and turns per-prefix stats on
      s.prefixDelimiter = raw[0];
      s.detailEnabled = true;
      break;
    }
    case 'b': {
      const n = toInt(raw);
      if (n === null || n < 0) throw bad(f, raw, 'backlog must be a whole number, 0 or more');
      s.backlog = n;
      break;
    }
    case 'B': {
      if (raw !== 'auto' && raw !== 'ascii' && raw !== 'binary') {
        throw bad(f, raw, `Invalid value for binding protocol: ${raw} -- should be one of auto, binary, or ascii`);
      }
      s.protocol = raw;
      st.protocolGiven = true;
      break;
    }
    case 'I': s.itemSizeMax = itemSize(f, raw); break;
    case 'Y': s.authFile = nonEmpty(f, raw, 'a file of user:password lines'); break;
    case 'e': s.memoryFile = nonEmpty(f, raw, 'a file to keep item memory in'); break;
    case 'N': s.napiIds = positiveInt(f, raw, 'Maximum number of NAPI IDs must be greater than 0'); break;
    default: throw new Error(`unhandled flag -${f.short}`);
  }
}

function port(f: FlagSpec, raw: string, what: string): number {
  const n = toInt(raw);
  if (n === null) throw bad(f, raw, `not a ${what} port number (0 to 65535; 0 turns ${what} off)`);
  if (n < 0 || n > 65535) throw bad(f, raw, `Invalid port number ${n}.`);
  return n;
}

function positiveInt(f: FlagSpec, raw: string, memcachedMessage: string): number {
  const n = toInt(raw);
  if (n === null || n <= 0 || n > 0x7fffffff) throw bad(f, raw, memcachedMessage);
  return n;
}

function nonEmpty(f: FlagSpec, raw: string, what: string): string {
  if (raw.length === 0) throw bad(f, raw, `expected ${what}`);
  return raw;
}

/** -I: bytes, or k/m suffixed, as memcached reads it (no g: memcached would read "1g" as 1 byte). */
function itemSize(f: FlagSpec, raw: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(raw.trim());
  if (m === null) {
    throw bad(f, raw, 'give bytes with an optional k or m suffix, e.g. -I 2m (min 1k, max 1024m)');
  }
  const unit = m[2].toLowerCase();
  const n = Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? MB : 1);
  if (!Number.isSafeInteger(n)) throw bad(f, raw, 'Cannot set item size limit higher than a gigabyte.');
  return n;
}

/**
 * -l: comma (or semicolon) separated entries, the flag may repeat; each entry is
 * `[notls:]host`, `host:port`, `[ipv6]:port`, a bare IPv6 address, or `*` for all.
 * Kept as given (deduplicated) so `stats settings` shows memcached's `inter` line; each entry
 * is checked with the server's own parser once -Z and -p are known (crossChecks).
 */
function applyListen(st: State, f: FlagSpec, values: string[]): void {
  const out: string[] = [];
  for (const value of values) {
    const entries = value.split(/[,;]/).filter((e) => e.length > 0);
    if (entries.length === 0) throw bad(f, value, 'no interface given (use * for all interfaces)');
    for (const entry of entries) if (!out.includes(entry)) out.push(entry);
  }
  st.s.interfaces = out;
}

/** Apply one `-o` argument: getsubopt() semantics, key[=value] items separated by commas. */
function applyExtended(st: State, f: FlagSpec, arg: string): void {
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

function applySubopt(st: State, f: FlagSpec, item: string, key: string, value: string | null): void {
  const s = st.s;
  const fail = (why: string): CliError => bad(f, item, why);
  const need = (): string => {
    if (value === null || value === '') throw fail(`Missing ${key} argument`);
    return value;
  };
  const noValue = (hint = ''): void => {
    if (value !== null) throw fail(`${key} takes no value${hint}`);
  };
  const int = (lo: number, hi: number, message: string): number => {
    const n = toInt(need());
    if (n === null || n < lo || n > hi) throw fail(message);
    return n;
  };
  const float = (ok: (n: number) => boolean, message: string): number => {
    const n = toFloat(need());
    if (n === null || !ok(n)) throw fail(message);
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
      if (value === null || value === '') throw fail('Missing numeric argument for hashpower');
      const n = toInt(value);
      if (n === null) throw fail('hashpower must be a whole number from 12 to 32');
      if (n < 12) throw fail(`Initial hashtable multiplier of ${n} is too low`);
      if (n > 32) throw fail(`Initial hashtable multiplier of ${n} is too high; choose a value based on "STAT hash_power_level" from a running instance`);
      s.hashpowerInit = n;
      return;
    }
    case 'no_hashexpand': noValue(); s.noHashexpand = true; return;
    case 'tail_repair_time': {
      if (value === null || value === '') throw fail('Missing numeric argument for tail_repair_time');
      s.tailRepairTime = int(10, U32, 'Cannot set tail_repair_time to less than 10 seconds');
      return;
    }
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
    case 'lru_crawler_sleep': {
      if (value === null || value === '') throw fail('Missing lru_crawler_sleep value');
      s.lruCrawlerSleep = int(0, 1_000_000, 'LRU crawler sleep must be between 0 and 1 second');
      return;
    }
    case 'lru_crawler_tocrawl': {
      if (value === null || value === '') throw fail('Missing lru_crawler_tocrawl value');
      s.lruCrawlerTocrawl = int(0, U32, 'lru_crawler_tocrawl takes a numeric 32bit value');
      return;
    }
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
    case 'idle_timeout': {
      if (value === null || value === '') throw fail('Missing numeric argument for idle_timeout');
      s.idleTimeout = int(0, U32, 'idle_timeout must be a whole number of seconds (0: never)');
      return;
    }
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
    case 'drop_privileges': case 'no_drop_privileges': noValue(); return;
    case 'sock_cookie_id': int(0, U32, 'sock_cookie_id must be a whole number'); return;
    case 'ssl_chain_cert': s.ssl_chain_cert = need(); return;
    case 'ssl_key': s.ssl_key = need(); return;
    case 'ssl_ca_cert': s.ssl_ca_cert = need(); return;
    case 'ssl_ciphers': s.ssl_ciphers = need(); return;
    case 'ssl_keyformat': s.ssl_keyformat = int(0, U32, 'could not parse argument to ssl_keyformat'); return;
    case 'ssl_verify_mode': {
      const n = toInt(need());
      if (n === null) throw fail('could not parse argument to ssl_verify_mode');
      if (n < 0 || n > 3) throw fail('Invalid ssl_verify_mode. Use help to see valid options.');
      s.ssl_verify_mode = n;
      return;
    }
    case 'ssl_wbuf_size': s.ssl_wbuf_size = int(0, U32, 'could not parse argument to ssl_wbuf_size') * 1024; return;
    case 'ssl_session_cache': noValue(); s.ssl_session_cache = true; return;
    case 'ssl_kernel_tls': noValue(); s.ssl_kernel_tls = true; return;
    case 'ssl_min_version': {
      const n = toInt(need());
      if (n === null) throw fail('could not parse argument to ssl_min_version');
      if (n < 0 || n > 3) throw fail('Invalid ssl_min_version. Use help to see valid options.');
      s.ssl_min_version = n;
      return;
    }
    case 'max_output_bytes': {
      const m = /^(\d+)([kKmMgG]?)$/.exec(need().trim());
      const unit = m === null ? '' : m[2].toLowerCase();
      const n = m === null ? NaN : Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? MB : unit === 'g' ? 1024 * MB : 1);
      if (!Number.isSafeInteger(n) || n < 1024) throw fail('max_output_bytes must be at least 1024 bytes (k, m, g suffixes ok)');
      s.maxOutputBytes = n;
      return;
    }
    default:
      throw fail(`Illegal suboption ${JSON.stringify(item)} (see --help for the -o keys)`);
  }
}

/** Item lock table size memcached derives from -t (thread.c); -o hashpower must exceed it. */
function itemLockHashpower(threads: number): number {
  if (threads < 3) return 10;
  if (threads < 4) return 11;
  if (threads < 5) return 12;
  if (threads <= 10) return 13;
  if (threads <= 20) return 14;
  return 15;
}

const CHUNK_ALIGN_BYTES = 8;
const MAX_NUMBER_OF_SLAB_CLASSES = 64;
const ITEM_SIZE_MAX_LOWER_LIMIT = 1024;
const ITEM_SIZE_MAX_UPPER_LIMIT = 1024 * MB;

/** Rules between flags, checked in memcached's order once every flag is read. */
function crossChecks(st: State, lastRaw: ReadonlyMap<string, string>): void {
  const s = st.s;
  const flag = (short: string): FlagSpec => BY_SHORT.get(short) as FlagSpec;
  const given = (short: string): boolean => st.given.has(keyOf(flag(short)));
  /** name the flag when the user gave it; a rule broken by defaults alone just says why */
  const blame = (short: string, why: string): CliError => {
    const f = flag(short);
    if (!given(short)) return new CliError(why);
    const raw = f.kind !== 'value' || short === 'o' || short === 'l' ? null : lastRaw.get(short) ?? null;
    return bad(f, raw, why);
  };
  /** the item size rules blame -I if it was given, else -m */
  const sizeFlag = given('I') || !given('m') ? 'I' : 'm';

  if (s.napiIds > 0 && s.napiIds > s.numThreads) {
    throw blame('N', `Number of napi_ids(${s.napiIds}) cannot be greater than number of threads(${s.numThreads})`);
  }
  if (s.itemSizeMax < ITEM_SIZE_MAX_LOWER_LIMIT) {
    throw blame('I', 'Item max size cannot be less than 1024 bytes.');
  }
  if (s.itemSizeMax > s.maxbytes / 2) {
    throw blame(sizeFlag, 'Cannot set item size limit higher than 1/2 of memory max.');
  }
  if (s.itemSizeMax > ITEM_SIZE_MAX_UPPER_LIMIT) {
    throw blame('I', 'Cannot set item size limit higher than a gigabyte.');
  }
  if (s.itemSizeMax > MB && !st.slabChunkChanged) {
    // memcached: with pages of 1 MB, bigger items are chained from half-page chunks
    s.slabChunkMax = s.slabPageSize / 2;
  }
  const chunkFlag = st.slabChunkChanged ? 'o' : 'I';
  if (s.slabChunkMax > s.itemSizeMax) {
    throw blame(chunkFlag, `slab_chunk_max (bytes: ${s.slabChunkMax}) cannot be larger than -I (item_size_max ${s.itemSizeMax})`);
  }
  if (s.itemSizeMax % s.slabChunkMax !== 0) {
    throw blame(chunkFlag, `-I (item_size_max: ${s.itemSizeMax}) must be evenly divisible by slab_chunk_max (bytes: ${s.slabChunkMax})`);
  }
  if (s.slabPageSize % s.slabChunkMax !== 0) {
    throw blame('o', `slab_chunk_max (bytes: ${s.slabChunkMax}) must divide evenly into ${s.slabPageSize} (slab_page_size)`);
  }
  if (st.slabSizesRaw !== null) s.slabSizes = parseSlabSizes(st.slabSizesRaw, s);
  if (s.hotLruPct + s.warmLruPct > 80) {
    throw blame('o', 'hot_lru_pct + warm_lru_pct cannot be more than 80% combined');
  }
  if (s.tempLru && !s.lruMaintainer) {
    throw blame('o', 'temporary_ttl requires lru_maintainer to be enabled');
  }
  if (s.sasl) {
    if (!st.protocolGiven) s.protocol = 'binary';
    else if (s.protocol !== 'binary') throw blame('S', 'ERROR: You cannot allow the ASCII protocol while using SASL.');
    if (s.udpport !== 0) throw blame('S', 'ERROR: Cannot enable UDP while using binary SASL authentication.');
  }
  if (s.authFile !== null) {
    if (!st.protocolGiven) s.protocol = 'ascii';
    else if (s.protocol !== 'ascii') {
      throw blame('Y', 'ERROR: You cannot allow the BINARY protocol while using ascii authentication tokens.');
    }
    if (s.udpport !== 0) throw blame('Y', 'Cannot use UDP with ascii authentication enabled (-U 0 to disable)');
  }
  if (given('U') && !given('p')) {
    // memcached: a UDP port given alone moves TCP to the same port
    s.port = s.udpport;
  }
  if (s.ssl && s.port === 0) throw blame('Z', 'ERROR: You cannot enable SSL without a TCP port.');
  if (given('l')) {
    const l = flag('l');
    for (const entry of s.interfaces) {
      try {
        parseListenAddress(entry, s.port, s.ssl);
      } catch (err) {
        throw bad(l, entry, (err as Error).message);
      }
      if (entry.replace(/^notls:/, '') === '') throw bad(l, entry, 'no interface given (use * for all interfaces)');
    }
  }
  if (s.hashpowerInit !== 0) {
    const lock = itemLockHashpower(s.numThreads);
    if (lock >= s.hashpowerInit) {
      throw blame('o', `Hash table power size (${s.hashpowerInit}) cannot be equal to or less than item lock table (${lock}); the item lock table grows with -t, the hash table with -o hashpower=N`);
    }
  }
}

/** `-o slab_sizes=a-b-c`, checked as memcached's _parse_slab_sizes() does. */
function parseSlabSizes(raw: string, s: Settings): number[] {
  const sizes: number[] = [];
  let lastSize = 0;
  const o = BY_SHORT.get('o') as FlagSpec;
  for (const part of raw.split('-').filter((x) => x !== '')) {
    const n = toInt(part);
    const size = n === null ? 0 : n;
    if (n === null || size < s.chunkSize || size > s.slabChunkMax) {
      throw bad(o, `slab_sizes=${raw}`, `slab size ${size} is out of valid range`);
    }
    if (lastSize >= size) {
      throw bad(o, `slab_sizes=${raw}`, `slab size ${size} cannot be lower than or equal to a previous class size`);
    }
    if (size <= lastSize + CHUNK_ALIGN_BYTES) {
      throw bad(o, `slab_sizes=${raw}`, `slab size ${size} must be at least ${CHUNK_ALIGN_BYTES} bytes larger than previous class`);
    }
    sizes.push(size);
    lastSize = size;
    if (sizes.length >= MAX_NUMBER_OF_SLAB_CLASSES - 1) {
      throw bad(o, `slab_sizes=${raw}`, 'too many slab classes specified');
    }
  }
  if (sizes.length === 0) throw bad(o, `slab_sizes=${raw}`, 'slab size 0 is out of valid range');
  return sizes;
}
