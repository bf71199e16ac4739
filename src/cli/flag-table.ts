/**
 * memcached 1.6.18's flags and `-o` keys: letters, long names and a line of help
 * each. The parser (flags.ts), getopt tokenising (getopt.ts) and --help (help.ts)
 * all read these tables.
 */

export type FlagKind = 'value' | 'bool' | 'count';

/** One memcached flag: getopt letter, getopt_long name, and a line of help in our words. */
export interface FlagSpec {
  readonly short: string;
  readonly long: string | null;
  readonly kind: FlagKind;
  /** placeholder for the value in help, e.g. `<num>` */
  readonly arg?: string;
  readonly help: string;
}

/** memcached 1.6.18's flags, in `memcached -h` order. Names match getopt_long's table exactly. */
export const FLAGS: readonly FlagSpec[] = [
  { short: 'p', long: 'port', kind: 'value', arg: '<num>', help: 'TCP port to listen on (default: 11211; 0 turns TCP off)' },
  { short: 'U', long: 'udp-port', kind: 'value', arg: '<num>', help: 'UDP port to listen on (default: 0, off)' },
  { short: 's', long: 'unix-socket', kind: 'value', arg: '<file>', help: 'listen on this UNIX socket instead of the network' },
  { short: 'a', long: 'unix-mask', kind: 'value', arg: '<mask>', help: 'permissions of the UNIX socket, in octal (default: 700)' },
  { short: 'A', long: 'enable-shutdown', kind: 'bool', help: 'allow the text "shutdown" command to stop the daemon' },
  { short: 'l', long: 'listen', kind: 'value', arg: '<addr>', help: 'interface(s) to listen on, comma separated, may repeat; host, host:port or [ipv6]:port, * for all (default: 127.0.0.1). With -Z a notls: prefix keeps one listener plain' },
  { short: 'd', long: 'daemon', kind: 'bool', help: 'detach and run in the background' },
  { short: 'r', long: 'enable-coredumps', kind: 'bool', help: 'raise the core file size limit as far as allowed' },
  { short: 'u', long: 'user', kind: 'value', arg: '<user>', help: 'switch to this user after binding (when started as root)' },
  { short: 'm', long: 'memory-limit', kind: 'value', arg: '<num>', help: 'megabytes of memory for items (default: 64)' },
  { short: 'M', long: 'disable-evictions', kind: 'bool', help: 'when memory is full, refuse writes with an error instead of evicting' },
  { short: 'c', long: 'conn-limit', kind: 'value', arg: '<num>', help: 'most simultaneous connections (default: 1024)' },
  { short: 'k', long: 'lock-memory', kind: 'bool', help: 'ask to keep item memory locked in RAM' },
  { short: 'v', long: 'verbose', kind: 'count', help: 'verbose: log errors and warnings while running' },
  { short: 'h', long: 'help', kind: 'bool', help: 'print this help and exit' },
  { short: 'i', long: 'license', kind: 'bool', help: 'print the license and exit' },
  { short: 'V', long: 'version', kind: 'bool', help: 'print the version and exit' },
  { short: 'P', long: 'pidfile', kind: 'value', arg: '<file>', help: 'write the process id to this file' },
  { short: 'f', long: 'slab-growth-factor', kind: 'value', arg: '<num>', help: 'each slab class\'s chunk is this many times the previous one; must be > 1 (default: 1.15; memcached\'s is 1.25)' },
  { short: 'n', long: 'slab-min-size', kind: 'value', arg: '<bytes>', help: 'smallest space for key + value + flags in the first slab class (default: 48)' },
  { short: 'L', long: 'enable-largepages', kind: 'bool', help: 'reserve all of -m up front instead of growing into it' },
  { short: 'D', long: null, kind: 'value', arg: '<char>', help: 'delimiter between key prefix and id for per-prefix stats (default: ":"); giving it turns "stats detail" on' },
  { short: 't', long: 'threads', kind: 'value', arg: '<num>', help: 'worker threads (default: 4), each serving its share of the connections over one shared cache; 1 serves everything from the main thread' },
  { short: 'R', long: 'max-reqs-per-event', kind: 'value', arg: '<num>', help: 'requests served from one connection before others get a turn (default: 20)' },
  { short: 'C', long: 'disable-cas', kind: 'bool', help: 'no CAS values (saves 8 bytes per item; gets/cas stop working)' },
  { short: 'b', long: 'listen-backlog', kind: 'value', arg: '<num>', help: 'queue length for connections not yet accepted (default: 1024)' },
  { short: 'B', long: 'protocol', kind: 'value', arg: '<name>', help: 'protocol to speak: auto, ascii or binary (default: auto, picked per connection from its first byte)' },
  { short: 'I', long: 'max-item-size', kind: 'value', arg: '<num>', help: 'largest item, in bytes or with a k or m suffix (default: 1m, min: 1k, max: 1024m, at most half of -m)' },
  { short: 'S', long: 'enable-sasl', kind: 'bool', help: 'require SASL authentication (binary protocol only)' },
  { short: 'F', long: 'disable-flush-all', kind: 'bool', help: 'refuse the flush_all command' },
  { short: 'X', long: 'disable-dumping', kind: 'bool', help: 'refuse "stats cachedump" and "lru_crawler metadump"' },
  { short: 'W', long: 'disable-watch', kind: 'bool', help: 'refuse the "watch" command (live logging)' },
  { short: 'Y', long: 'auth-file', kind: 'value', arg: '<file>', help: 'require text-protocol authentication against user:password lines in this file' },
  { short: 'e', long: 'memory-file', kind: 'value', arg: '<file>', help: 'warm restart: save the cache to this file (and <file>.meta) on SIGUSR1 or SIGTERM, resume it at start' },
  { short: 'Z', long: 'enable-ssl', kind: 'bool', help: 'speak TLS on the TCP listeners (see the ssl_* -o keys)' },
  { short: 'o', long: 'extended', kind: 'value', arg: '<opts>', help: 'comma separated list of key or key=value extended options, listed below' },
  { short: 'N', long: 'napi-ids', kind: 'value', arg: '<num>', help: 'number of NAPI ids (at most -t); accepted for compatibility' },
];

/** An extended option (`-o key[=value]`). */
export interface ExtSpec {
  readonly name: string;
  /** placeholder for the value in help; absent for keys that take none */
  readonly arg?: string;
  readonly help: string;
}

/**
 * Every `-o` key memcached 1.6.18 (as packaged by Debian, with TLS and extstore) accepts,
 * plus our own. The ext_* keys are listed once, as a family, and refused.
 */
export const EXT_OPTIONS: readonly ExtSpec[] = [
  { name: 'maxconns_fast', help: 'over -c, answer "ERROR Too many open connections" and close at once (default: on)' },
  { name: 'no_maxconns_fast', help: 'over -c, hold new clients unanswered until a connection closes' },
  { name: 'hashpower', arg: '<num>', help: 'start the hash table at 2^num buckets, 12 to 32, above the item lock table size (default: grow from 2^16)' },
  { name: 'no_hashexpand', help: 'never grow the hash table (dangerous)' },
  { name: 'tail_repair_time', arg: '<sec>', help: 'unlink an LRU tail item held by a reply this long, at least 10; its memory returns when the reply is written (default: 0, never)' },
  { name: 'hash_algorithm', arg: '<name>', help: 'key hash: murmur3, jenkins or xxh3 (default: murmur3)' },
  { name: 'slab_reassign', help: 'allow moving memory pages between slab classes (default: on)' },
  { name: 'no_slab_reassign', help: 'never move pages between slab classes' },
  { name: 'slab_automove', arg: '[=0|1|2]', help: 'move pages automatically: 0 never, 1 gently (default), 2 whenever a class evicts' },
  { name: 'no_slab_automove', help: 'same as slab_automove=0' },
  { name: 'slab_automove_ratio', arg: '<ratio>', help: 'free-chunk ratio above which a class gives pages away, > 0 and <= 1 (default: 0.80)' },
  { name: 'slab_automove_window', arg: '<num>', help: 'seconds of history the page mover looks at, at least 3 (default: 30)' },
  { name: 'slab_automove_freeratio', arg: '<ratio>', help: 'extstore free-memory ratio; accepted for compatibility (default: 0.010)' },
  { name: 'slab_chunk_max', arg: '<bytes>', help: 'largest slab chunk; bigger items are chained across chunks. Must divide -I and the 1 MB page (default: 524288)' },
  { name: 'slab_sizes', arg: '<a-b-c>', help: 'explicit chunk sizes, dash separated, increasing by more than 8, between -n and slab_chunk_max' },
  { name: 'no_chunked_items', help: 'let a chunk be a whole page (slab_chunk_max = 1 MB)' },
  { name: 'lru_crawler', help: 'run the background expired-item reclaimer (default: on)' },
  { name: 'no_lru_crawler', help: 'do not run the LRU crawler' },
  { name: 'lru_crawler_sleep', arg: '<usec>', help: 'pause between items crawled, 0 to 1000000 microseconds (default: 100)' },
  { name: 'lru_crawler_tocrawl', arg: '<num>', help: 'most items crawled per slab class per run (default: 0, no limit)' },
  { name: 'lru_maintainer', help: 'segmented HOT/WARM/COLD LRU with its background balancer (default: on)' },
  { name: 'no_lru_maintainer', help: 'one plain LRU per slab class' },
  { name: 'hot_lru_pct', arg: '<pct>', help: 'share of a class\'s memory for the HOT LRU, 1 to 79 (default: 20)' },
  { name: 'warm_lru_pct', arg: '<pct>', help: 'share for the WARM LRU, 1 to 79, hot + warm <= 80 (default: 40)' },
  { name: 'hot_max_factor', arg: '<num>', help: 'items idle longer than COLD age times this leave HOT (default: 0.20)' },
  { name: 'warm_max_factor', arg: '<num>', help: 'items idle longer than COLD age times this leave WARM (default: 2.00)' },
  { name: 'temporary_ttl', arg: '<sec>', help: 'items with a TTL below this go to a TEMP LRU and are never evicted; needs lru_maintainer (default: off, 61)' },
  { name: 'idle_timeout', arg: '<sec>', help: 'close connections idle this long (default: 0, never)' },
  { name: 'watcher_logbuf_size', arg: '<kbytes>', help: 'output buffer of each "watch" connection (default: 256)' },
  { name: 'worker_logbuf_size', arg: '<kbytes>', help: 'log buffer per worker, read by the watchers (default: 64)' },
  { name: 'read_buf_mem_limit', arg: '<mbytes>', help: 'accepted for compatibility, warns at startup: each connection owns its read buffer, there is no pool to cap (default: 0)' },
  { name: 'resp_obj_mem_limit', arg: '<mbytes>', help: 'deprecated, ignored; see read_buf_mem_limit' },
  { name: 'track_sizes', help: 'keep the histogram that "stats sizes" reports' },
  { name: 'inline_ascii_resp', help: 'accepted for compatibility; memcached 1.6 ignores it too' },
  { name: 'no_inline_ascii_resp', help: 'accepted for compatibility; memcached 1.6 ignores it too' },
  { name: 'modern', help: 'the defaults of future versions; currently changes nothing' },
  { name: 'no_modern', help: 'memcached 1.4 defaults: no page mover, no crawler, one plain LRU, jenkins hash, chunks up to 1 MB' },
  { name: 'drop_privileges', help: 'accepted for compatibility (sandboxing is systemd\'s job here)' },
  { name: 'no_drop_privileges', help: 'accepted for compatibility' },
  { name: 'sock_cookie_id', arg: '<num>', help: 'accepted for compatibility (SO_MARK for firewalls)' },
  { name: 'ssl_chain_cert', arg: '<file>', help: 'certificate chain, PEM' },
  { name: 'ssl_key', arg: '<file>', help: 'private key, if not in ssl_chain_cert' },
  { name: 'ssl_keyformat', arg: '<num>', help: 'private key format: 1 PEM (default), 2 DER' },
  { name: 'ssl_verify_mode', arg: '<num>', help: 'client certificates: 0 ignore (default), 1 request, 2 require, 3 request once' },
  { name: 'ssl_ciphers', arg: '<list>', help: 'OpenSSL cipher list' },
  { name: 'ssl_ca_cert', arg: '<file>', help: 'CA certificates for client certificates, PEM' },
  { name: 'ssl_wbuf_size', arg: '<kbytes>', help: 'TLS output buffer per connection (default: 16)' },
  { name: 'ssl_session_cache', help: 'cache TLS sessions so clients can resume them' },
  { name: 'ssl_kernel_tls', help: 'let the kernel do TLS record encryption' },
  { name: 'ssl_min_version', arg: '<num>', help: 'oldest TLS accepted: 0 1.0, 1 1.1, 2 1.2 (default), 3 1.3' },
  { name: 'ext_*', arg: '...', help: 'extstore (items on flash) is not supported; every ext_* key is refused' },
  { name: 'metrics_port', arg: '<port>', help: 'slabcache: serve Prometheus metrics (memcached_exporter\'s names) at http://metrics_addr:<port>/metrics (default: 0, off)' },
  { name: 'metrics_addr', arg: '<addr>', help: 'slabcache: address the metrics endpoint listens on (default: 127.0.0.1)' },
  { name: 'max_output_bytes', arg: '<bytes>', help: 'slabcache: output queued for one slow client before we stop reading from it; k/m/g suffix ok (default: 64k)' },
];
