/**
 * Settings: every knob memcached 1.6 has, with its defaults. cli/ fills this from
 * argv; every other layer only reads it. Names follow memcached's `stats settings`.
 */
export interface Settings {
  port: number;            // -p
  udpport: number;         // -U
  interfaces: string[];    // -l (comma list, may repeat)
  socketpath: string | null; // -s
  accessMask: number;      // -a (octal)
  maxbytes: number;        // -m, bytes
  maxconns: number;        // -c
  numThreads: number;      // -t
  reqsPerEvent: number;    // -R
  protocol: 'auto' | 'ascii' | 'binary'; // -B
  itemSizeMax: number;     // -I, bytes
  growthFactor: number;    // -f
  chunkSize: number;       // -n
  evictToFree: boolean;    // !-M
  useCas: boolean;         // !-C
  preallocate: boolean;    // -L
  maxCore: boolean;        // -r
  verbose: number;         // -v count
  shutdownEnabled: boolean; // -A
  daemonize: boolean;      // -d
  pidFile: string | null;  // -P
  username: string | null; // -u
  sasl: boolean;           // -S
  authFile: string | null; // -Y
  /** -S password database: the file MEMCACHED_SASL_PWDB names (read by cli/), null if unset */
  saslPwdb: string | null;
  ssl: boolean;            // -Z
  detailEnabled: boolean;  // stats detail on
  lockMemory: boolean;     // -k
  backlog: number;         // -b
  prefixDelimiter: string; // -D
  flushEnabled: boolean;   // !-F
  dumpEnabled: boolean;    // !-X
  watchEnabled: boolean;   // !-W
  memoryFile: string | null; // -e
  slabReassign: boolean;
  slabAutomove: number;
  slabAutomoveRatio: number;
  slabAutomoveWindow: number;
  slabChunkMax: number;    // bytes
  slabPageSize: number;    // bytes
  lruCrawler: boolean;
  lruCrawlerSleep: number;
  lruCrawlerTocrawl: number;
  lruMaintainer: boolean;
  hotLruPct: number;
  warmLruPct: number;
  hotMaxFactor: number;
  warmMaxFactor: number;
  tempLru: boolean;
  temporaryTtl: number;
  idleTimeout: number;     // seconds, 0 = off
  hashpowerInit: number;
  tailRepairTime: number;
  modern: boolean;
  watcherLogbufSize: number;
  workerLogbufSize: number;
  readBufSize: number;
  trackSizes: boolean;
  inlineAsciiResponse: boolean;
  noHashexpand: boolean;
  extStore: boolean;
  maxOutputBytes: number;  // output queued for one slow client before we stop reading
  maxLineLength: number;   // longest text request line
  metricsPort: number;     // -o metrics_port: Prometheus /metrics over HTTP, 0 = off
  metricsAddr: string;     // -o metrics_addr: where /metrics listens
  ssl_chain_cert: string | null;
  ssl_key: string | null;
  ssl_ca_cert: string | null;
  ssl_verify_mode: number;
  ssl_keyformat: number;
  ssl_ciphers: string | null;
  ssl_min_version: number;
  ssl_session_cache: boolean;
  ssl_wbuf_size: number;   // bytes (-o ssl_wbuf_size is in KB)
  ssl_kernel_tls: boolean;
  maxconnsFast: boolean;   // over -c: reply `ERROR Too many open connections` and close (default) vs stop accepting
  hashAlgorithm: 'murmur3' | 'jenkins' | 'xxh3'; // -o hash_algorithm, reported by `stats settings`
  lruSegmented: boolean;   // HOT/WARM/COLD split (lru_maintainer turns it on, no_lru_maintainer off)
  readBufMemLimit: number; // bytes for all connection buffers, 0 = unlimited (-o read_buf_mem_limit is in MB)
  napiIds: number;         // -N, 0 = not set
  /** flags given that have no mechanism here (-t, -N, drop_privileges, sock_cookie_id): each is named at startup */
  noEffect: string[];
  slabSizes: number[] | null; // -o slab_sizes=a-b-c, explicit chunk sizes
  /** -o keys that were given, in order, for `stats settings` and logs */
  extraOptions: Record<string, string>;
  /**
   * Listening sockets inherited from systemd (sd_listen_fds: LISTEN_FDS/LISTEN_PID,
   * fds from 3); when non-empty the daemon serves on them and binds no TCP/unix socket.
   * cli fills it from the environment.
   */
  inheritedFds: number[];
}

export const MB = 1024 * 1024;

export function defaultSettings(): Settings {
  return {
    port: 11211, udpport: 0, interfaces: ['127.0.0.1'], socketpath: null, accessMask: 0o700,
    maxbytes: 64 * MB, maxconns: 1024, numThreads: 4, reqsPerEvent: 20, protocol: 'auto',
    itemSizeMax: 1 * MB, growthFactor: 1.15, chunkSize: 48, evictToFree: true, useCas: true,
    preallocate: false, maxCore: false, verbose: 0, shutdownEnabled: false, daemonize: false,
    pidFile: null, username: null, sasl: false, authFile: null, saslPwdb: null, ssl: false,
    detailEnabled: false, lockMemory: false, backlog: 1024, prefixDelimiter: ':',
    flushEnabled: true, dumpEnabled: true, watchEnabled: true, memoryFile: null,
    slabReassign: true, slabAutomove: 1, slabAutomoveRatio: 0.8, slabAutomoveWindow: 30,
    slabChunkMax: 512 * 1024, slabPageSize: 1 * MB,
    lruCrawler: true, lruCrawlerSleep: 100, lruCrawlerTocrawl: 0, lruMaintainer: true,
    hotLruPct: 20, warmLruPct: 40, hotMaxFactor: 0.2, warmMaxFactor: 2.0,
    tempLru: false, temporaryTtl: 61, idleTimeout: 0, hashpowerInit: 0, tailRepairTime: 0,
    modern: true, watcherLogbufSize: 256 * 1024, workerLogbufSize: 64 * 1024,
    readBufSize: 16384, trackSizes: false, inlineAsciiResponse: false, noHashexpand: false,
    extStore: false, maxOutputBytes: 64 * 1024, maxLineLength: 2048, metricsPort: 0, metricsAddr: '127.0.0.1',
    ssl_chain_cert: null, ssl_key: null, ssl_ca_cert: null, ssl_verify_mode: 0,
    ssl_keyformat: 1, ssl_ciphers: null, ssl_min_version: 2, ssl_session_cache: false,
    ssl_wbuf_size: 16 * 1024, ssl_kernel_tls: false, maxconnsFast: true, hashAlgorithm: 'murmur3',
    lruSegmented: true, readBufMemLimit: 0, napiIds: 0, noEffect: [], slabSizes: null,
    extraOptions: {},
    inheritedFds: [],
  };
}
