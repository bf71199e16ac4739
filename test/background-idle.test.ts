/**
 * A page move or a crawl runs in slices on unref'd timers, so that it alone never
 * keeps the daemon up. Whoever awaits its end (shutdown, tests) must still see it
 * end when nothing else is left on the event loop.
 */
import test from 'ava';
import { NREAD_SET } from '../src/cache/status.js';
import { CRAWLER_OK } from '../src/cache/crawler.js';
import { REASSIGN_OK } from '../src/cache/page-mover.js';
import { setS } from './cache-fixture.js';
import { makeFixture } from './stats-fixture.js';

test('idle() resolves a crawl left running with nothing else on the event loop', async (t) => {
  const f = makeFixture({ lruCrawlerSleep: 0 });
  for (let i = 0; i < 20_000; i++) setS(f.cache, NREAD_SET, `k${i}`, 'v', 0, i % 2 ? 5 : 0);
  f.clock.advance(6);
  t.is(f.ctx.crawler.crawl('all'), CRAWLER_OK);
  t.true(f.ctx.crawler.running);
  await f.ctx.crawler.idle();
  t.is(f.cache.counters.curr_items, 10_000);
});

test('idle() resolves a page move left running with nothing else on the event loop', async (t) => {
  const f = makeFixture();
  const per = f.cache.slabs.perslab[1];
  for (let i = 0; i < per * 3; i++) setS(f.cache, NREAD_SET, `k${i}`, 'v');
  t.is(f.ctx.mover.reassign(1, 5), REASSIGN_OK);
  t.true(f.ctx.mover.running);
  await f.ctx.mover.idle();
  t.is(f.cache.slabs.totalPages[5], 1);
});
