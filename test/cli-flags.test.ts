/**
 * The command line, checked against memcached 1.6.18 itself: the flags its -h lists, the
 * command lines it refuses, and the settings it reports (`stats settings`) for the ones it
 * accepts.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { defaultSettings, MB, type Settings } from '../src/config.js';
import { CliError, EXT_OPTIONS, FLAGS, getoptNormalise, parseArgs, parseCommandLine } from '../src/cli/flags.js';
import { helpText } from '../src/cli/help.js';
import { MEMCACHED_BIN, SLABCACHE_BIN, startMemcached } from './helpers/memcached.js';
import { telnet } from './helpers/telnet.js';

const run = promisify(execFile);

test('no flags: memcached defaults (with -l 127.0.0.1)', (t) => {
  t.deepEqual(parseArgs([]), defaultSettings());
});

test('getopt forms: clusters, glued values, = and separate long values, prefixes', (t) => {
  t.is(parseArgs(['-vvv']).verbose, 3);
  t.is(parseArgs(['-v', '-v']).verbose, 2);
  t.is(parseArgs(['--verbose', '-v']).verbose, 2);
  t.is(parseArgs(['-p11311']).port, 11311);
  t.is(parseArgs(['-p', '11311']).port, 11311);
  t.is(parseArgs(['--port=11311']).port, 11311);
  t.is(parseArgs(['--port', '11311']).port, 11311);
  t.is(parseArgs(['--conn=10']).maxconns, 10, 'unambiguous prefix of --conn-limit');
  t.is(parseArgs(['-I2m']).itemSizeMax, 2 * MB);
  t.is(parseArgs(['-l127.0.0.2']).interfaces[0], '127.0.0.2');
  const s = parseArgs(['-MCk']);
  t.false(s.evictToFree);
  t.false(s.useCas);
  t.true(s.lockMemory);
  t.is(parseArgs(['-vMp', '5']).port, 5, 'a value flag ends a cluster and takes the next word');
  t.is(parseArgs(['-D', '-']).prefixDelimiter, '-', 'a value may start with a dash');
  t.is(parseArgs(['-m', '1', '-m', '128']).maxbytes, 128 * MB, 'the last repeat wins');
  t.deepEqual(getoptNormalise(['-h', '-m', 'abc']).action, 'help', '-h stops parsing, as in memcached');
});

test('values land in Settings', (t) => {
  const s = parseArgs([
    '-p', '1', '-U', '2', '-s', '/tmp/x.sock', '-a', '660', '-A', '-m', '100', '-c', '50', '-t', '8',
    '-R', '5', '-B', 'binary', '-I', '512k', '-f', '1.08', '-n', '64', '-M', '-C', '-L', '-r', '-d',
    '-P', '/tmp/x.pid', '-u', 'nobody', '-e', '/tmp/x.mem', '-F', '-X', '-W', '-D', '#', '-b', '64',
    '-l', '127.0.0.1,[::1]:5', '-l', '127.0.0.3', '-o', 'max_output_bytes=1m,idle_timeout=30',
  ]);
  const want: Partial<Settings> = {
    port: 1, udpport: 2, socketpath: '/tmp/x.sock', accessMask: 0o660, shutdownEnabled: true,
    maxbytes: 100 * MB, maxconns: 50, numThreads: 8, reqsPerEvent: 5, protocol: 'binary',
    itemSizeMax: 512 * 1024, growthFactor: 1.08, chunkSize: 64, evictToFree: false, useCas: false,
    preallocate: true, maxCore: true, daemonize: true, pidFile: '/tmp/x.pid', username: 'nobody',
    memoryFile: '/tmp/x.mem', flushEnabled: false, dumpEnabled: false, watchEnabled: false,
    prefixDelimiter: '#', detailEnabled: true, backlog: 64,
    interfaces: ['127.0.0.1', '[::1]:5', '127.0.0.3'], maxOutputBytes: MB, idleTimeout: 30,
  };
  for (const [k, v] of Object.entries(want)) t.deepEqual(s[k as keyof Settings], v, k);
  t.deepEqual(s.extraOptions, { max_output_bytes: '1m', idle_timeout: '30' });
});

test('-S and -Y pick the protocol; a UDP port alone moves TCP too', (t) => {
  t.is(parseArgs(['-S']).protocol, 'binary');
  t.is(parseArgs(['-Y', '/etc/auth']).protocol, 'ascii');
  const u = parseArgs(['-U', '5000']);
  t.is(u.port, 5000);
  t.is(u.udpport, 5000);
  t.is(parseArgs(['-U', '5000', '-p', '6000']).port, 6000);
});

test('-t above 64 warns, as memcached does', (t) => {
  t.regex(parseCommandLine(['-t', '65']).warnings.join('\n'), /high number of worker threads/);
});

/**
 * [args, what our one-line message must contain, whether real memcached refuses it too].
 * memcached accepts some by atoi() accident (`-p abc` is port 0); we refuse those anyway.
 */
const REFUSALS: ReadonlyArray<readonly [string[], string, boolean]> = [
  [['-p', '70000'], '-p/--port "70000": Invalid port number 70000.', true],
  [['-p', 'abc'], '-p/--port "abc": not a TCP port number', false],
  [['-U', '-1'], '-U/--udp-port "-1": Invalid port number -1.', false],
  [['-m', 'abc'], '-m/--memory-limit "abc": not a whole number of megabytes', true],
  [['-m', '1g'], '-m/--memory-limit "1g": not a whole number of megabytes', true],
  [['-m', '0'], '-m/--memory-limit "0": memory limit must be at least 1 megabyte', true],
  [['-m', '1'], '-m/--memory-limit "1": Cannot set item size limit higher than 1/2 of memory max.', true],
  [['-I', '2g'], '-I/--max-item-size "2g": give bytes with an optional k or m suffix', true],
  [['-I', '512'], '-I/--max-item-size "512": Item max size cannot be less than 1024 bytes.', true],
  [['-I', '1k'], '-I/--max-item-size "1k": slab_chunk_max (bytes: 524288) cannot be larger than -I (item_size_max 1024)', true],
  [['-I', '1000k'], '-I/--max-item-size "1000k": -I (item_size_max: 1024000) must be evenly divisible by slab_chunk_max (bytes: 524288)', true],
  [['-I', '33m'], '-I/--max-item-size "33m": Cannot set item size limit higher than 1/2 of memory max.', true],
  [['-m', '4096', '-I', '1025m'], '-I/--max-item-size "1025m": Cannot set item size limit higher than a gigabyte.', true],
  [['-f', '1'], '-f/--slab-growth-factor "1": Factor must be greater than 1', true],
  [['-f', 'abc'], '-f/--slab-growth-factor "abc": Factor must be greater than 1', true],
  [['-n', '0'], '-n/--slab-min-size "0": Chunk size must be greater than 0', true],
  [['-t', '0'], '-t/--threads "0": Number of threads must be greater than 0', true],
  [['-c', '0'], '-c/--conn-limit "0": Maximum connections must be greater than 0', true],
  [['-R', 'abc'], '-R/--max-reqs-per-event "abc": Number of requests per event must be greater than 0', true],
  [['-B', 'foo'], '-B/--protocol "foo": Invalid value for binding protocol: foo -- should be one of auto, binary, or ascii', true],
  [['-a', '999'], '-a/--unix-mask "999": not an octal access mask', false],
  [['-D', ''], '-D "": No delimiter specified', true],
  [['-N', '8'], '-N/--napi-ids "8": Number of napi_ids(8) cannot be greater than number of threads(4)', true],
  [['-x'], "invalid option -- 'x'", true],
  [['--bogus'], "unrecognized option '--bogus'", true],
  [['--mem=5'], "option '--mem=5' is ambiguous; possibilities: '--memory-limit' '--memory-file'", true],
  [['--port'], "option '--port' requires an argument", true],
  [['-o'], "option requires an argument -- 'o'", true],
  [['--daemon=yes'], "option '--daemon' doesn't allow an argument", true],
  [['64'], 'unexpected argument "64"', false],
  [['-o', 'bogus'], '-o/--extended "bogus": Illegal suboption "bogus"', true],
  [['-o', 'modern,bogus=1'], '-o/--extended "bogus=1": Illegal suboption "bogus=1"', true],
  [['-o', ',modern'], '-o/--extended "": Illegal suboption ""', true],
  [['-o', 'ext_path=/tmp/x:64m'], '-o/--extended "ext_path=/tmp/x:64m": extstore (the ext_* options) is not supported', false],
  [['-o', 'proxy_config=/tmp/x'], 'Illegal suboption', true],
  [['-o', 'hashpower'], 'Missing numeric argument for hashpower', true],
  [['-o', 'hashpower=5'], 'Initial hashtable multiplier of 5 is too low', true],
  [['-o', 'hashpower=33'], 'Initial hashtable multiplier of 33 is too high', true],
  [['-o', 'hashpower=12'], 'Hash table power size (12) cannot be equal to or less than item lock table (12)', true],
  [['-o', 'slab_automove=3'], 'slab_automove must be between 0 and 2', true],
  [['-o', 'slab_automove_ratio=0'], 'slab_automove_ratio must be > 0 and < 1', true],
  [['-o', 'slab_automove_window=2'], 'slab_automove_window must be > 2', true],
  [['-o', 'tail_repair_time=5'], 'Cannot set tail_repair_time to less than 10 seconds', true],
  [['-o', 'hash_algorithm=md5'], 'Unknown hash_algorithm option (jenkins, murmur3, xxh3)', true],
  [['-o', 'lru_crawler_sleep=2000000'], 'LRU crawler sleep must be between 0 and 1 second', true],
  [['-o', 'lru_crawler_tocrawl=-1'], 'lru_crawler_tocrawl takes a numeric 32bit value', true],
  [['-o', 'hot_lru_pct=80'], 'hot_lru_pct must be > 1 and < 80', true],
  [['-o', 'hot_lru_pct=50,warm_lru_pct=40'], '-o/--extended: hot_lru_pct + warm_lru_pct cannot be more than 80% combined', true],
  [['-o', 'hot_max_factor=0'], 'hot_max_factor must be > 0', true],
  [['-o', 'no_lru_maintainer,temporary_ttl=10'], 'temporary_ttl requires lru_maintainer to be enabled', true],
  [['-o', 'watcher_logbuf_size=abc'], 'could not parse argument to watcher_logbuf_size', true],
  [['-o', 'read_buf_mem_limit=-1'], 'could not parse argument to read_buf_mem_limit', true],
  [['-o', 'slab_chunk_max=abc'], 'could not parse argument to slab_chunk_max', true],
  [['-o', 'slab_chunk_max=768'], '-I (item_size_max: 1048576) must be evenly divisible by slab_chunk_max (bytes: 768)', true],
  [['-o', 'slab_sizes=abc'], 'slab size 0 is out of valid range', true],
  [['-o', 'ssl_chain_cert'], 'Missing ssl_chain_cert argument', true],
  [['-o', 'ssl_verify_mode=5'], 'Invalid ssl_verify_mode. Use help to see valid options.', true],
  [['-o', 'ssl_min_version=9'], 'Invalid ssl_min_version. Use help to see valid options.', true],
  [['-o', 'slab_reassign=0'], 'slab_reassign takes no value (no_slab_reassign turns it off)', false],
  [['-o', 'max_output_bytes=1'], 'max_output_bytes must be at least 1024 bytes', false],
  [['-S', '-B', 'ascii'], '-S/--enable-sasl: ERROR: You cannot allow the ASCII protocol while using SASL.', true],
  [['-Y', '/dev/null', '-B', 'auto'], 'ERROR: You cannot allow the BINARY protocol while using ascii authentication tokens.', true],
  [['-Y', '/dev/null', '-U', '5000'], 'Cannot use UDP with ascii authentication enabled (-U 0 to disable)', true],
  [['-Z', '-p', '0'], '-Z/--enable-ssl: ERROR: You cannot enable SSL without a TCP port.', true],
  [['-l', 'notls:127.0.0.1'], "-l/--listen \"notls:127.0.0.1\": 'notls' option is valid only when SSL is enabled", true],
  [['-l', '127.0.0.1:abc'], '-l/--listen "127.0.0.1:abc": Invalid port number: "abc"', true],
  [['-l', '[::1'], '-l/--listen "[::1": Invalid IPV6 address: "[::1"', false],
  [['-l', ''], '-l/--listen "": no interface given', false],
];

for (const [args, message] of REFUSALS) {
  test(`refused: ${args.join(' ') || '(empty)'}`, (t) => {
    const err = t.throws(() => parseArgs(args), { instanceOf: CliError });
    t.true(err?.message.includes(message), `${err?.message}\n  should contain\n${message}`);
    t.false(err?.message.includes('\n'), 'one line');
  });
}

/** Runs memcached with these flags; its exit status, or why it has none. */
function memcachedExit(args: readonly string[]): Promise<number | string> {
  const root = process.getuid?.() === 0 ? ['-u', 'root'] : [];
  // the port is given only where the case does not; memcached then exits on its own, at once
  const port = args.includes('-p') ? [] : ['-p', '1'];
  return new Promise<number | string>((resolve) => {
    const child = spawn(MEMCACHED_BIN, [...root, '-l', '127.0.0.1', ...port, ...args], { stdio: 'ignore' });
    // generous: a refusal is immediate, but a loaded machine may be slow to start a process
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('still running after 30 s');
    }, 30_000);
    child.once('exit', (c, sig) => {
      clearTimeout(timer);
      resolve(c ?? `signal ${sig}`);
    });
  });
}

test('every command line we refuse that memcached refuses too: it does, with the same exit status', async (t) => {
  const both = REFUSALS.filter(([, , b]) => b);
  const results: Array<{ args: string; memcached: number | string; ours: number }> = [];
  // a few at a time, so that the machine's load cannot make a refusal look like a hang
  for (let i = 0; i < both.length; i += 4) {
    results.push(...await Promise.all(both.slice(i, i + 4).map(async ([args]) => {
      const err = t.throws(() => parseArgs(args), { instanceOf: CliError });
      return { args: args.join(' '), memcached: await memcachedExit(args), ours: err?.exitCode ?? -1 };
    })));
  }
  // with some unchecked values memcached crashes (slab_chunk_max=abc: SIGFPE); that still refuses
  const running = results.filter((r) => typeof r.memcached === 'string' && !r.memcached.startsWith('signal'));
  t.deepEqual(running, [], 'memcached accepted these');
  const differ = results.filter((r) => typeof r.memcached === 'number' && r.memcached !== r.ours);
  t.deepEqual(differ, [], 'exit status differs from memcached');
  // and it is what the process exits with
  const stopped = results.filter((r) => typeof r.memcached === 'number').map((r) => r.memcached);
  t.deepEqual([...new Set(stopped)].sort(), [1, 64, 71], 'the cases cover each status memcached uses');
});

test('a refused command line exits with its status: -t 2 -N 3 is 64, -l notls: is 71, -x is 1', async (t) => {
  for (const [args, status] of [[['-t', '2', '-N', '3'], 64], [['-l', 'notls:127.0.0.1'], 71], [['-x'], 1]] as const) {
    const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [SLABCACHE_BIN, ...args], { timeout: 30_000 }, (_err, _out, stderr) => {
        resolve({ status: child.exitCode, stderr: String(stderr) });
      });
    });
    t.is(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    t.is(r.stderr.trim().split('\n').length, 1, 'one line');
    const mc = await memcachedExit(args);
    t.is(mc, status, `memcached ${args.join(' ')}`);
  }
});

/** Our Settings in memcached's `stats settings` words, for the keys both have. */
function statsSettingsOf(s: Settings): Record<string, string> {
  const yn = (b: boolean): string => (b ? 'yes' : 'no');
  const f2 = (n: number): string => n.toFixed(2);
  return {
    maxbytes: String(s.maxbytes), maxconns: String(s.maxconns), inter: s.interfaces.join(','),
    verbosity: String(s.verbose), evictions: s.evictToFree ? 'on' : 'off', domain_socket: s.socketpath ?? 'NULL',
    umask: s.accessMask.toString(8), shutdown_command: yn(s.shutdownEnabled), growth_factor: f2(s.growthFactor),
    chunk_size: String(s.chunkSize), num_threads: String(s.numThreads), stat_key_prefix: s.prefixDelimiter,
    detail_enabled: yn(s.detailEnabled), reqs_per_event: String(s.reqsPerEvent), cas_enabled: yn(s.useCas),
    tcp_backlog: String(s.backlog), binding_protocol: s.protocol === 'auto' ? 'auto-negotiate' : s.protocol,
    auth_enabled_sasl: yn(s.sasl), auth_enabled_ascii: yn(s.authFile !== null), item_size_max: String(s.itemSizeMax),
    maxconns_fast: yn(s.maxconnsFast), hashpower_init: String(s.hashpowerInit), slab_reassign: yn(s.slabReassign),
    slab_automove: String(s.slabAutomove), slab_automove_ratio: f2(s.slabAutomoveRatio),
    slab_automove_window: String(s.slabAutomoveWindow), slab_chunk_max: String(s.slabChunkMax),
    lru_crawler: yn(s.lruCrawler), lru_crawler_sleep: String(s.lruCrawlerSleep),
    lru_crawler_tocrawl: String(s.lruCrawlerTocrawl), tail_repair_time: String(s.tailRepairTime),
    flush_enabled: yn(s.flushEnabled), dump_enabled: yn(s.dumpEnabled), hash_algorithm: s.hashAlgorithm,
    lru_maintainer_thread: yn(s.lruMaintainer), lru_segmented: yn(s.lruSegmented), hot_lru_pct: String(s.hotLruPct),
    warm_lru_pct: String(s.warmLruPct), hot_max_factor: f2(s.hotMaxFactor), warm_max_factor: f2(s.warmMaxFactor),
    temp_lru: yn(s.tempLru), temporary_ttl: String(s.temporaryTtl), idle_timeout: String(s.idleTimeout),
    watcher_logbuf_size: String(s.watcherLogbufSize), worker_logbuf_size: String(s.workerLogbufSize),
    read_buf_mem_limit: String(s.readBufMemLimit), track_sizes: yn(s.trackSizes),
    inline_ascii_response: yn(s.inlineAsciiResponse), ssl_enabled: yn(s.ssl),
    ssl_keyformat: String(s.ssl_keyformat), ssl_wbuf_size: String(s.ssl_wbuf_size),
    ssl_session_cache: yn(s.ssl_session_cache), ssl_kernel_tls: yn(s.ssl_kernel_tls),
    ssl_min_version: ['tlsv1.0', 'tlsv1.1', 'tlsv1.2', 'tlsv1.3'][s.ssl_min_version],
    memory_file: s.memoryFile ?? '(null)',
  };
}

const memfileDir = mkdtempSync(join(tmpdir(), 'slabcache-cli-'));
test.after.always(() => rmSync(memfileDir, { recursive: true, force: true }));

const ACCEPTED: readonly string[][] = [
  [],
  ['-m', '128', '-c', '99', '-t', '2', '-R', '7', '-b', '9', '-f', '1.5', '-n', '32', '-I', '2m'],
  ['-M', '-C', '-A', '-F', '-X', '-W', '-a', '600', '-D', '#', '-vv'],
  ['-m', '2048', '-I', '1024m'],
  ['-I', '1536k'],
  ['-o', 'no_modern'],
  ['-o', 'modern'],
  ['-o', 'no_modern,lru_crawler', '-I', '2m'],
  ['-o', 'slab_chunk_max=16384', '-o', 'no_modern'],
  ['-o', 'no_chunked_items'],
  ['-o', 'inline_ascii_resp,no_inline_ascii_resp,drop_privileges,no_hashexpand,sock_cookie_id=3'],
  ['-o', 'hash_algorithm=xxh3,lru_crawler_sleep=50,lru_crawler_tocrawl=7,hot_lru_pct=10,warm_lru_pct=30,hot_max_factor=0.5,warm_max_factor=1.5,idle_timeout=9,tail_repair_time=20,slab_automove_ratio=0.5,slab_automove_window=5,hashpower=16'],
  ['-o', 'temporary_ttl=10,track_sizes,no_maxconns_fast,slab_automove=2,slab_automove'],
  ['-o', 'read_buf_mem_limit=5,watcher_logbuf_size=10'],
  ['-o', 'ssl_min_version=3,ssl_keyformat=2,ssl_session_cache,ssl_kernel_tls,ssl_wbuf_size=32'],
  ['-o', 'no_lru_maintainer,no_lru_crawler,no_slab_reassign,no_slab_automove,no_maxconns_fast'],
  ['-o', 'lru_maintainer,lru_crawler,slab_reassign,maxconns_fast,modern,'],
  ['-t', '1', '-o', 'hashpower=12'],
  ['-B', 'ascii'],
  ['-l', '127.0.0.1', '-l', '127.0.0.1'],
  // -e preallocates a page per slab class: memcached wants -m >= 39 for that
  ['-e', join(memfileDir, 'memory')],
];

for (const args of ACCEPTED) {
  test(`stats settings match memcached: ${args.join(' ') || '(defaults)'}`, async (t) => {
    const ours = statsSettingsOf(parseArgs(args));
    const server = await startMemcached(t, args);
    const mc = await telnet(t, server);
    await mc.send('stats settings\r\n');
    const theirs: Record<string, string> = {};
    for (const line of (await mc.readUntil('END\r\n')).toString('latin1').split('\r\n')) {
      const m = /^STAT (\S+) (.*)$/.exec(line);
      if (m !== null && m[1] in ours) theirs[m[1]] = m[2];
    }
    t.deepEqual(ours, theirs);
  });
}

test('every flag in `memcached -h` is ours, with the same letter', async (t) => {
  const { stdout } = await run(MEMCACHED_BIN, ['-h']);
  const theirs = [...stdout.matchAll(/^-([A-Za-z]),?\s+--([a-z_-]+)/gm)].map((m) => [m[1], m[2]] as const);
  t.true(theirs.length > 30);
  for (const [short, long] of theirs) {
    // memcached's help spells it napi_ids; its getopt table (and so the flag) is napi-ids
    const name = long === 'napi_ids' ? 'napi-ids' : long;
    const ours = FLAGS.find((f) => f.short === short);
    t.is(ours?.long, name, `-${short}`);
  }
  t.truthy(FLAGS.find((f) => f.short === 'D'));
  const keys = [...stdout.matchAll(/^ {3}- ([a-z_]+):/gm)].map((m) => m[1]);
  for (const key of keys) {
    t.true(key.startsWith('ext_') || EXT_OPTIONS.some((e) => e.name === key), `-o ${key}`);
  }
});

test('--help explains every flag and every -o key', (t) => {
  const help = helpText('0.0.0');
  for (const f of FLAGS) t.true(help.includes(f.long === null ? `-${f.short} ` : `-${f.short}, --${f.long}`), f.short);
  for (const e of EXT_OPTIONS) t.true(help.includes(`- ${e.name}`), e.name);
  t.true(help.split('\n').every((line) => line.length <= 100), 'fits 100 columns');
});
