import test from 'ava';
import { NREAD_SET } from '../src/cache/status.js';
import { statsReport } from '../src/stats/report.js';
import { recordDelete, recordGet, recordSet } from '../src/stats/detail.js';
import { VERSION } from '../src/stats/general.js';
import { adminCommand } from '../src/protocol/text-jobs.js';
import { getS, k, setS } from './cache-fixture.js';
import { asMap, asText, makeFixture, memcached, names, parseStats } from './stats-fixture.js';

type Pairs = Array<[string, string]>;

function pairs(r: Pairs | string): Pairs {
  if (typeof r === 'string') throw new Error(`expected a listing, got ${JSON.stringify(r)}`);
  return r;
}

test('stats: same fields in the same order as memcached, after 3 sets and 2 hits', async (t) => {
  const ask = await memcached(t);
  await ask('set a 0 0 1\r\nx\r\n', 'STORED\r\n');
  await ask('set b 0 100 2\r\nxy\r\n', 'STORED\r\n');
  await ask('set c 0 0 1\r\nz\r\n', 'STORED\r\n');
  await ask('get a\r\n');
  await ask('get b\r\n');
  await ask('get nope\r\n');
  const theirs = parseStats(await ask('stats\r\n'));

  const f = makeFixture();
  setS(f.cache, NREAD_SET, 'a', 'x');
  setS(f.cache, NREAD_SET, 'b', 'xy', 0, 100);
  setS(f.cache, NREAD_SET, 'c', 'z');
  t.is(getS(f.cache, 'a'), 'x');
  t.is(getS(f.cache, 'b'), 'xy');
  t.is(getS(f.cache, 'nope'), null);
  f.ctx.counters.curr_connections = 1;
  const ours = pairs(statsReport(f.ctx, f.conn, []));

  t.deepEqual(names(ours), names(theirs));
  const o = asMap(ours);
  const m = asMap(theirs);
  for (const n of ['cmd_get', 'cmd_set', 'get_hits', 'get_misses', 'curr_items', 'total_items',
    'max_connections', 'limit_maxbytes', 'threads', 'pointer_size', 'hash_power_level', 'evictions',
    'slab_global_page_pool', 'hash_is_expanding', 'delete_hits', 'touch_hits']) {
    t.is(o.get(n), m.get(n), n);
  }
  t.is(o.get('cmd_set'), '3');
  t.is(o.get('get_hits'), '2');
  t.is(o.get('pid'), String(process.pid));
  t.is(o.get('version'), VERSION);
  t.regex(o.get('rusage_user')!, /^\d+\.\d{6}$/);
  t.regex(o.get('rusage_system')!, /^\d+\.\d{6}$/);
  t.regex(o.get('libevent')!, /^libuv-\d+\.\d+\.\d+$/);
  t.true(Math.abs(Number(o.get('time')) - Date.now() / 1000) < 5);
  t.true(Number(o.get('uptime')) >= 0 && Number(o.get('uptime')) < 5);
  t.true(Number(o.get('bytes')) > 0);
});

test('stats: conditional fields follow the settings as memcached\'s do', async (t) => {
  const flags = ['-o', 'idle_timeout=10,no_lru_crawler,no_lru_maintainer', '-o', 'no_maxconns_fast'];
  const ask = await memcached(t, flags);
  await ask('set a 0 0 1\r\nx\r\n', 'STORED\r\n');
  const theirs = parseStats(await ask('stats\r\n'));
  const theirItems = parseStats(await ask('stats items\r\n'));
  const f = makeFixture(flags);
  setS(f.cache, NREAD_SET, 'a', 'x');
  t.deepEqual(names(pairs(statsReport(f.ctx, f.conn, []))), names(theirs));
  t.deepEqual(names(pairs(statsReport(f.ctx, f.conn, ['items']))), names(theirItems));
});

test('stats items and stats slabs: memcached\'s fields per class, plausible values', async (t) => {
  const ask = await memcached(t);
  await ask('set a 0 0 1\r\nx\r\n', 'STORED\r\n');
  await ask('set b 0 0 1\r\ny\r\n', 'STORED\r\n');
  await ask('get a\r\n');
  const theirItems = parseStats(await ask('stats items\r\n'));
  const theirSlabs = parseStats(await ask('stats slabs\r\n'));

  const f = makeFixture();
  setS(f.cache, NREAD_SET, 'a', 'x');
  setS(f.cache, NREAD_SET, 'b', 'y');
  getS(f.cache, 'a');
  f.clock.advance(7);
  const items = pairs(statsReport(f.ctx, f.conn, ['items']));
  const slabs = pairs(statsReport(f.ctx, f.conn, ['slabs']));
  t.deepEqual(names(items), names(theirItems));
  t.deepEqual(names(slabs), names(theirSlabs));
  const i = asMap(items);
  t.is(i.get('items:1:number'), '2');
  t.is(Number(i.get('items:1:number_hot')) + Number(i.get('items:1:number_warm')) + Number(i.get('items:1:number_cold')), 2);
  t.is(i.get('items:1:age'), '7');
  t.is(i.get('items:1:mem_requested'), String(2 * (f.cache.hdr.headerSize + 2)));
  const s = asMap(slabs);
  t.is(s.get('1:chunk_size'), String(f.cache.slabs.size[1]));
  t.is(s.get('1:total_pages'), '1');
  t.is(s.get('1:used_chunks'), '2');
  t.is(Number(s.get('1:free_chunks')) + 2, Number(s.get('1:total_chunks')));
  t.is(s.get('1:get_hits'), '1');
  t.is(s.get('1:cmd_set'), '2');
  t.is(s.get('active_slabs'), '1');
  t.is(s.get('total_malloced'), String(1024 * 1024));
});

test('stats settings: memcached\'s names and the values its flags give', async (t) => {
  const flags = ['-m', '128', '-c', '50', '-f', '1.5', '-n', '64', '-M', '-C', '-t', '2'];
  const ask = await memcached(t, flags);
  const theirs = parseStats(await ask('stats settings\r\n'));
  const f = makeFixture(flags);
  const ours = pairs(statsReport(f.ctx, f.conn, ['settings']));
  t.deepEqual(names(ours), names(theirs));
  const o = asMap(ours);
  for (const [name, value] of theirs) {
    if (name === 'tcpport') continue; // the test servers listen on different ports
    t.is(o.get(name), value, name);
  }
  t.is(o.get('maxbytes'), String(128 * 1024 * 1024));
  t.is(o.get('growth_factor'), '1.50');
  t.is(o.get('evictions'), 'off');
  t.is(o.get('cas_enabled'), 'no');
});

for (const flags of [
  ['-o', 'read_buf_mem_limit=2,hashpower=18,slab_chunk_max=262144,lru_crawler_tocrawl=7,idle_timeout=5',
    '-R', '7', '-b', '99', '-D', '#', '-a', '755', '-B', 'ascii', '-I', '2m', '-v'],
  ['-o', 'no_lru_crawler,track_sizes,slab_automove=2,slab_automove_ratio=0.5,slab_automove_window=10,'
    + 'lru_crawler_sleep=50,hot_lru_pct=30,warm_lru_pct=30,hot_max_factor=0.5,warm_max_factor=1.5,temporary_ttl=30'],
  ['-A', '-F', '-X', '-W', '-c', '100', '-t', '8', '-o',
    'no_maxconns_fast,tail_repair_time=10,watcher_logbuf_size=512,worker_logbuf_size=128,no_modern'],
  ['-o', 'modern,no_hashexpand,hash_algorithm=jenkins'],
]) {
  test(`stats settings matches memcached with ${flags.join(' ')}`, async (t) => {
    const ask = await memcached(t, flags);
    const theirs = parseStats(await ask('stats settings\r\n'));
    const f = makeFixture(flags);
    const ours = pairs(statsReport(f.ctx, f.conn, ['settings']));
    t.deepEqual(names(ours), names(theirs));
    const o = asMap(ours);
    for (const [name, value] of theirs) if (name !== 'tcpport') t.is(o.get(name), value, name);
  });
}

test('stats settings reflects runtime changes (detail, crawler sleep)', (t) => {
  const f = makeFixture();
  t.is(statsReport(f.ctx, f.conn, ['detail', 'on']), 'OK');
  const o = asMap(pairs(statsReport(f.ctx, f.conn, ['settings'])));
  t.is(o.get('detail_enabled'), 'yes');
  t.is(o.get('evictions'), 'on');
  t.is(o.get('item_size_max'), '1048576');
  t.is(o.get('slab_chunk_max'), '524288');
  t.is(o.get('lru_crawler'), 'yes');
  t.is(o.get('ssl_enabled'), 'no');
});

test('stats reset, detail, unknown subcommands and cachedump answer as memcached does', async (t) => {
  const ask = await memcached(t);
  const f = makeFixture();
  const ours = (words: string[]): string => asText(statsReport(f.ctx, f.conn, words));
  const script: Array<[string, (() => void) | null]> = [
    ['stats foo', null], ['stats detail', null], ['stats detail xx', null], ['stats detail on', null],
    ['stats proxy', null], ['stats extstore', null], ['stats sizes', null],
    ['stats cachedump 64 0', null], ['stats cachedump 1', null], ['stats cachedump x 0', null],
    ['stats cachedump 2 0', null],
  ];
  for (const [line] of script) {
    const words = line.split(' ').slice(1);
    t.is(ours(words), await ask(line + '\r\n'), line);
  }
  // detail dump after the same traffic; several prefixes, to check memcached's bucket order
  const keys = ['foo:1', 'bar:2', 'baz:3', 'user:9', 'a:b', 'noprefix', 'foo:2', 'x:y:z'];
  for (const key of keys) {
    await ask(`get ${key}\r\n`);
    recordGet(f.ctx, k(key), 0, key.length, false);
    await ask(`set ${key} 0 0 1\r\n1\r\n`, 'STORED\r\n');
    recordSet(f.ctx, k(key), 0, key.length);
    await ask(`get ${key}\r\n`);
    recordGet(f.ctx, k(key), 0, key.length, true);
  }
  await ask('delete bar:2\r\n', 'DELETED\r\n');
  recordDelete(f.ctx, k('bar:2'), 0, 5);
  const dump = await ask('stats detail dump\r\n');
  t.is(ours(['detail', 'dump']), dump);
  t.true(dump.includes('PREFIX foo get 4 hit 2 set 2 del 0\r\n'));
  t.is(ours(['detail', 'off']), await ask('stats detail off\r\n'));
  t.is(ours(['reset']), await ask('stats reset\r\n'));
  t.is(ours(['detail', 'dump']), await ask('stats detail dump\r\n'));
});

test('stats reset zeroes counters and keeps gauges', (t) => {
  const f = makeFixture();
  setS(f.cache, NREAD_SET, 'a', 'x');
  getS(f.cache, 'a');
  getS(f.cache, 'zz');
  f.ctx.counters.curr_connections = 3;
  f.ctx.counters.total_connections = 9;
  t.is(statsReport(f.ctx, f.conn, ['reset']), 'RESET');
  const o = asMap(pairs(statsReport(f.ctx, f.conn, [])));
  for (const n of ['cmd_get', 'cmd_set', 'get_hits', 'get_misses', 'total_items', 'total_connections', 'moves_to_cold']) {
    t.is(o.get(n), '0', n);
  }
  t.is(o.get('curr_items'), '1');
  t.is(o.get('curr_connections'), '3');
  t.not(o.get('bytes'), '0');
  const i = asMap(pairs(statsReport(f.ctx, f.conn, ['items'])));
  t.not(i.get('items:1:mem_requested'), '0');
});

test('stats cachedump lists a class\'s keys as memcached formats them', async (t) => {
  // memcached's cachedump walks one LRU list, and its maintainer thread moves new
  // items out of it whenever it wakes: without the thread the answer is certain
  const ask = await memcached(t, ['-o', 'no_lru_maintainer']);
  const f = makeFixture();
  await ask('set a 0 0 1\r\nx\r\n', 'STORED\r\n');
  await ask('set bb 0 0 3\r\nxyz\r\n', 'STORED\r\n');
  setS(f.cache, NREAD_SET, 'a', 'x');
  setS(f.cache, NREAD_SET, 'bb', 'xyz');
  t.is(asText(statsReport(f.ctx, f.conn, ['cachedump', '1', '0'])), await ask('stats cachedump 1 0\r\n'));
  t.is(asText(statsReport(f.ctx, f.conn, ['cachedump', '1', '1'])), await ask('stats cachedump 1 1\r\n'));
  setS(f.cache, NREAD_SET, 'e', 'x', 0, 100);
  t.is(asText(statsReport(f.ctx, f.conn, ['cachedump', '1', '1'])),
    `ITEM e [1 b; ${f.clock.processStarted + f.clock.now + 100} s]\r\nEND\r\n`);
});

test('stats sizes: enable, histogram in 32-byte buckets, disable', async (t) => {
  const ask = await memcached(t);
  const f = makeFixture();
  const ours = (words: string[]): string => asText(statsReport(f.ctx, f.conn, words));
  t.is(ours(['sizes_enable']), await ask('stats sizes_enable\r\n', '\r\n'));
  setS(f.cache, NREAD_SET, 'c', 'x'.repeat(100));
  const size = f.cache.hdr.headerSize + 1 + 100;
  t.is(ours(['sizes']), `STAT ${Math.ceil(size / 32) * 32} 1\r\nEND\r\n`);
  t.is(ours(['sizes_disable']), await ask('stats sizes_disable\r\n', '\r\n'));
  t.is(ours(['sizes']), await ask('stats sizes\r\n'));
  const nocas = makeFixture(['-C']);
  t.is(asText(statsReport(nocas.ctx, nocas.conn, ['sizes_enable'])),
    'STAT sizes_status error\r\nSTAT sizes_error cas_support_disabled\r\n');
});

test('stats conns lists connections with memcached\'s fields', (t) => {
  const f = makeFixture();
  const o = pairs(statsReport(f.ctx, f.conn, ['conns']));
  t.deepEqual(o, [
    ['24:addr', 'tcp:127.0.0.1:40000'],
    ['24:listen_addr', 'tcp:127.0.0.1:11211'],
    ['24:state', 'conn_parse_cmd'],
    ['24:secs_since_last_cmd', '0'],
  ]);
});

test('lru tune, mode and temp_ttl reply as memcached does and show in stats settings', async (t) => {
  const ask = await memcached(t);
  const f = makeFixture();
  const lines = [
    'lru tune 10 30 0.1 2.0', 'lru tune 50 40 0.1 2', 'lru tune 10 30 0 2', 'lru tune 10 30 x 2',
    'lru tune 10 30 0.1', 'lru mode flat', 'lru mode segmented', 'lru mode x', 'lru mode',
    'lru temp_ttl 30', 'lru temp_ttl -1', 'lru temp_ttl x', 'lru foo', 'lru', 'lru tune 15 25 1e-1 .5',
    'lru temp_ttl 45', 'lru mode flat',
  ];
  for (const line of lines) t.is(asText(adminCommand(f.ctx, f.conn, line.split(' '))), await ask(line + '\r\n'), line);
  t.is(adminCommand(f.ctx, f.conn, ['lru', 'tune', '10', '30', '0.1', '2', 'noreply']), '');
  await ask('lru tune 10 30 0.1 2 noreply\r\nlru temp_ttl 45\r\n'); // the OK is temp_ttl's
  const theirs = parseStats(await ask('stats settings\r\n'));
  const o = asMap(pairs(statsReport(f.ctx, f.conn, ['settings'])));
  for (const [name, value] of theirs) if (name !== 'tcpport') t.is(o.get(name), value, name);
  t.is(f.cache.opts.hotLruPct, 10, 'the engine balances with the new shares');
});

test('stats conns: a unix-socket client is shown as memcached shows it', (t) => {
  const f = makeFixture();
  const unixConn = {
    ...f.conn, id: 30, transport: 'unix', peer: '/tmp/mc.sock', local: undefined, state: 'conn_parse_cmd',
    secondsSinceLastCmd: 0,
  };
  f.ctx = { ...f.ctx, connections: () => [unixConn] };
  t.deepEqual(pairs(statsReport(f.ctx, f.conn, ['conns'])), [
    ['30:addr', '?:<AF 0>'],
    ['30:listen_addr', 'unix:/tmp/mc.sock'],
    ['30:state', 'conn_parse_cmd'],
    ['30:secs_since_last_cmd', '0'],
  ]);
});
