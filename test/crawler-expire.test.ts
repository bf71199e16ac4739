import test from 'ava';
import { NREAD_SET } from '../src/cache/status.js';
import { NIL } from '../src/cache/memory.js';
import { CRAWLER_BADCLASS, CRAWLER_OK, CRAWLER_RUNNING } from '../src/cache/crawler.js';
import { adminCommand } from '../src/protocol/text-jobs.js';
import { statsReport } from '../src/stats/report.js';
import { getS, k, setS } from './cache-fixture.js';
import { asMap, asText, makeFixture, memcached } from './stats-fixture.js';

function stat(f: ReturnType<typeof makeFixture>, name: string): string | undefined {
  const r = statsReport(f.ctx, f.conn, []);
  if (typeof r === 'string') throw new Error(r);
  return asMap(r).get(name);
}

test('crawl reclaims expired items nobody asked for, without a get', (t) => {
  const f = makeFixture();
  for (let i = 0; i < 100; i++) setS(f.cache, NREAD_SET, `exp${i}`, 'v', 0, 10);
  for (let i = 0; i < 50; i++) setS(f.cache, NREAD_SET, `keep${i}`, 'v');
  getS(f.cache, 'exp7'); // fetched once: not counted as expired_unfetched
  f.clock.advance(11);
  const crawler = f.ctx.crawler;
  t.is(crawler.crawl('all'), CRAWLER_OK);
  t.true(crawler.running);
  t.is(crawler.crawl('1'), CRAWLER_RUNNING);
  crawler.finish();
  t.false(crawler.running);
  t.is(f.cache.counters.curr_items, 50);
  t.is(stat(f, 'crawler_reclaimed'), '100');
  t.is(stat(f, 'crawler_items_checked'), '150');
  t.is(stat(f, 'expired_unfetched'), '99');
  t.is(stat(f, 'lru_crawler_starts'), '1');
  t.is(stat(f, 'get_expired'), '0');
  t.is(getS(f.cache, 'keep3'), 'v');
  t.is(f.cache.index.items, 50);
});

test('the crawl runs by itself in slices on the event loop', async (t) => {
  const f = makeFixture({ lruCrawlerSleep: 0 });
  for (let i = 0; i < 5000; i++) setS(f.cache, NREAD_SET, `k${i}`, 'v', 0, i % 2 ? 5 : 0);
  f.clock.advance(6);
  const crawler = f.ctx.crawler;
  t.is(crawler.crawl('all'), CRAWLER_OK);
  t.is(f.cache.counters.curr_items, 5000, 'nothing done synchronously');
  let slices = 0;
  const tick = setInterval(() => slices++, 0);
  await crawler.idle();
  clearInterval(tick);
  t.is(f.cache.counters.curr_items, 2500);
  t.is(f.cache.classCounters.crawler_reclaimed[1], 2500);
  t.true(slices >= 1, 'the loop ran other work while crawling');
});

test('crawl skips pinned items and reclaims flushed ones', (t) => {
  const f = makeFixture();
  setS(f.cache, NREAD_SET, 'pinned', 'v', 0, 1);
  setS(f.cache, NREAD_SET, 'old', 'v');
  const h = f.cache.peek(k('pinned'), 0, 6);
  t.true(f.cache.pin(h));
  f.clock.advance(2);
  f.cache.flush(0);
  const crawler = f.ctx.crawler;
  crawler.crawl('all');
  crawler.finish();
  t.is(f.cache.counters.curr_items, 1, 'the pinned one stays linked');
  t.is(f.cache.classCounters.crawler_reclaimed[1], 1);
  t.is(f.cache.classCounters.expired_unfetched[1], 0, 'flushed items are not expired_unfetched');
  f.cache.unpin(h);
  crawler.crawl('all');
  crawler.finish();
  t.is(f.cache.counters.curr_items, 0);
});

test('crawl survives the cache changing between slices and always ends', (t) => {
  const f = makeFixture();
  for (let i = 0; i < 3000; i++) setS(f.cache, NREAD_SET, `k${i}`, 'v'.repeat(i % 300), 0, i % 3 === 0 ? 1 : 0);
  f.clock.advance(2);
  const crawler = f.ctx.crawler;
  t.is(crawler.crawl('all', 0), CRAWLER_OK);
  let seed = 7;
  const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
  let slices = 0;
  while (crawler.step(50)) {
    slices++;
    t.true(slices < 1000, 'a crawl ends');
    for (let j = 0; j < 30; j++) {
      const key = `k${rnd(3000)}`;
      if (rnd(2) === 0) f.cache.delete(k(key), 0, key.length);
      else setS(f.cache, NREAD_SET, key, 'w'.repeat(rnd(300)), 0, rnd(2));
      getS(f.cache, `k${rnd(3000)}`);
    }
  }
  // every linked item is still reachable both ways
  let linked = 0;
  for (let id = 0; id < f.cache.lru.head.length; id++) {
    for (let h = f.cache.lru.head[id]; h !== NIL; h = f.cache.hdr.get(h, 0)) linked++;
  }
  t.is(linked, f.cache.counters.curr_items);
  t.is(f.cache.index.items, f.cache.counters.curr_items);
});

test('automatic crawls: maintain() starts one, then backs off while nothing expires', (t) => {
  const f = makeFixture();
  for (let i = 0; i < 10; i++) setS(f.cache, NREAD_SET, `k${i}`, 'v');
  const crawler = f.ctx.crawler;
  crawler.maintain();
  t.true(crawler.running);
  crawler.finish();
  t.is(f.cache.counters.lru_crawler_starts, 1);
  f.clock.advance(6);
  crawler.maintain(); // nothing reclaimable: wait 60 s more
  t.false(crawler.running);
  f.clock.advance(60);
  crawler.maintain();
  t.true(crawler.running);
  crawler.finish();
  t.is(f.cache.counters.lru_crawler_starts, 2);
  f.settings.lruCrawler = false;
  f.clock.advance(10_000);
  crawler.maintain();
  t.false(crawler.running, 'lru_crawler disable stops the schedule');
});

test('metadump: one line per live item in memcached\'s format', async (t) => {
  const ask = await memcached(t);
  const f = makeFixture();
  const keys = ['a', 'b%20', "k~-._!*()+,/:;=?@[]#$&'\"<>^{}|\\", 'caf\u00e9'];
  for (const key of keys) {
    await ask(`set ${key} 5 0 2\r\nxy\r\n`, 'STORED\r\n');
    setS(f.cache, NREAD_SET, key, 'xy', 5);
  }
  await ask('set e 0 1000 1\r\nx\r\n', 'STORED\r\n');
  setS(f.cache, NREAD_SET, 'e', 'x', 0, 1000);
  await ask('get a\r\n');
  getS(f.cache, 'a');
  setS(f.cache, NREAD_SET, 'gone', 'x', 0, 1);
  f.clock.advance(1);
  const theirs = await ask('lru_crawler metadump all\r\n');
  const ours = asText(adminCommand(f.ctx, f.conn, ['lru_crawler', 'metadump', 'all']));
  // times and sizes are each server's own, and so is which LRU segment an item sits in
  // (that sets the order): compare the rest, as sorted lines
  const mask = (s: string): string[] => s.replace(/ (exp|la)=\d+/g, ' $1=T').replace(/ size=\d+/g, ' size=N').split('\n').sort();
  t.deepEqual(mask(ours), mask(theirs));
  const line = ours.split('\n').find((l) => l.startsWith('key=e '))!;
  t.is(line, `key=e exp=${f.clock.processStarted + 2 + 1000} la=${f.clock.processStarted + 2} cas=5 fetch=no cls=1 size=${f.cache.hdr.headerSize + 2}`);
  t.true(ours.includes('key=a exp=-1 '));
  t.false(ours.includes('key=gone'), 'expired items are left out');
  t.true(ours.endsWith('\nEND\r\n'));
});

test('lru_crawler commands reply as memcached does', async (t) => {
  const ask = await memcached(t);
  const f = makeFixture();
  await ask('set a 0 0 1\r\nx\r\n', 'STORED\r\n');
  setS(f.cache, NREAD_SET, 'a', 'x');
  const idle = async (): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while ((await ask('stats\r\n')).includes('STAT lru_crawler_running 1\r\n')) {
      if (Date.now() > deadline) throw new Error('memcached\'s crawler still running (lru_crawler_running 1) after 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    f.ctx.crawler.finish();
  };
  const lines = [
    'lru_crawler crawl all', 'lru_crawler crawl 1', 'lru_crawler crawl 1,2,3', 'lru_crawler crawl 63',
    'lru_crawler crawl 0', 'lru_crawler crawl 64', 'lru_crawler crawl x', 'lru_crawler crawl 1,x',
    'lru_crawler crawl hash', 'lru_crawler crawl', 'lru_crawler crawl +1', 'lru_crawler crawl 1\t',
    'lru_crawler crawl \t2', 'lru_crawler crawl 4294967297', 'lru_crawler crawl -18446744073709551615',
    'lru_crawler crawl 1,-1', 'lru_crawler crawl 1,0x2', 'lru_crawler metadump +1', 'lru_crawler sleep 2000000', 'lru_crawler sleep x',
    'lru_crawler sleep 50', 'lru_crawler tocrawl 4294967297', 'lru_crawler tocrawl -0', 'lru_crawler tocrawl +7',
    'lru_crawler tocrawl -18446744073709551615', 'lru_crawler tocrawl 18446744073709551616',
    'lru_crawler tocrawl 5', 'lru_crawler tocrawl -1', 'lru_crawler foo',
    'lru_crawler', 'lru_crawler metadump 99', 'lru_crawler metadump 2', 'lru_crawler metadump 1,2',
    'lru_crawler mgdump all', 'lru_crawler disable', 'lru_crawler disable', 'lru_crawler crawl all',
    'lru_crawler metadump all', 'lru_crawler enable', 'lru_crawler enable', 'lru_crawler a b c d',
  ];
  for (const line of lines) {
    await idle();
    const theirs = await ask(line + '\r\n');
    const ours = asText(adminCommand(f.ctx, f.conn, line.split(' ')));
    t.is(ours.replace(/ la=\d+/g, ''), theirs.replace(/ la=\d+/g, '').replace(/ size=\d+/g, ` size=${f.cache.hdr.headerSize + 2}`), line);
  }
  const s = asMap(statsReport(f.ctx, f.conn, ['settings']) as Array<[string, string]>);
  t.is(s.get('lru_crawler_sleep'), '50');
  t.is(s.get('lru_crawler_tocrawl'), '5');
  t.is(adminCommand(f.ctx, f.conn, ['get', 'a']), null);
  t.is(f.ctx.crawler.crawl('1,,2'), CRAWLER_OK);
  t.is(f.ctx.crawler.crawl('0'), CRAWLER_BADCLASS);
});

test('metadump refuses to run behind pipelined replies, as memcached does', (t) => {
  const f = makeFixture();
  f.conn.out.bytes(Buffer.from('STORED\r\n'));
  t.is(adminCommand(f.ctx, f.conn, ['lru_crawler', 'metadump', 'all']), 'ERROR cannot pipeline other commands before metadump');
  f.settings.dumpEnabled = false;
  t.is(adminCommand(f.ctx, f.conn, ['lru_crawler', 'metadump', 'all']), 'ERROR metadump not allowed');
});

test('start() runs automatic crawls on the event loop; stop() ends them', async (t) => {
  const f = makeFixture({ lruCrawlerSleep: 0 });
  for (let i = 0; i < 2000; i++) setS(f.cache, NREAD_SET, `k${i}`, 'v', 0, 3);
  f.clock.advance(4);
  const crawler = f.ctx.crawler;
  crawler.start();
  t.teardown(() => crawler.stop());
  t.true(crawler.running, 'the first check starts a crawl at once');
  t.is(f.cache.counters.curr_items, 2000);
  await crawler.idle();
  t.is(f.cache.counters.curr_items, 0);
  t.is(stat(f, 'lru_crawler_running'), '0');
  crawler.stop();
  for (let i = 0; i < 10; i++) setS(f.cache, NREAD_SET, `j${i}`, 'v', 0, 1);
  f.clock.advance(100);
  t.is(crawler.crawl('all'), CRAWLER_OK, 'manual crawls still work after stop()');
  crawler.stop();
  t.false(crawler.running, 'stop() abandons a crawl in progress');
});
