import test from 'ava';
import { NREAD_SET } from '../src/cache/status.js';
import { NIL } from '../src/cache/memory.js';
import {
  REASSIGN_BADCLASS, REASSIGN_NOSPARE, REASSIGN_OK, REASSIGN_RUNNING, REASSIGN_SRC_DST_SAME,
  globalPagePool,
} from '../src/cache/page-mover.js';
import { adminCommand } from '../src/protocol/text-jobs.js';
import { statsReport } from '../src/stats/report.js';
import type { Cache } from '../src/cache/engine.js';
import { getS, k, setS, valueOf } from './cache-fixture.js';
import { asMap, asText, makeFixture, memcached } from './stats-fixture.js';

const key = (i: number): string => `k${String(i).padStart(6, '0')}`;
const val = (i: number, len = 10): string => String(i).padEnd(len, '.');

/** Every linked item is on its LRU list and in the index, both ways. */
function consistent(cache: Cache): boolean {
  let linked = 0;
  for (let id = 0; id < cache.lru.head.length; id++) {
    let prev = NIL;
    for (let h = cache.lru.head[id]; h !== NIL; h = cache.hdr.get(h, 0)) {
      if (cache.hdr.get(h, 1) !== prev) return false;
      prev = h;
      linked++;
    }
    if (cache.lru.tail[id] !== prev) return false;
  }
  return linked === cache.counters.curr_items && cache.index.items === linked;
}

test('slabs reassign moves the oldest page; live items in it are rescued', async (t) => {
  const f = makeFixture();
  const c = f.cache;
  const per = c.slabs.perslab[1];
  const n = Math.floor(per * 2.5);
  for (let i = 0; i < n; i++) setS(c, NREAD_SET, key(i), val(i));
  t.is(c.slabs.totalPages[1], 3);
  for (let i = 0; i < n; i += 2) c.delete(k(key(i)), 0, 7); // room outside the page for rescues
  const page = c.slabs.pages[1][0];
  const mover = f.ctx.mover;
  t.is(adminCommand(f.ctx, f.conn, ['slabs', 'reassign', '1', '5']), 'OK');
  t.true(mover.running);
  t.is(mover.reassign(1, 5), REASSIGN_RUNNING);
  t.is(adminCommand(f.ctx, f.conn, ['slabs', 'reassign', '1', '5']), 'BUSY currently processing reassign request');
  await mover.idle();
  t.is(c.slabs.totalPages[1], 2);
  t.is(c.slabs.totalPages[5], 1);
  t.deepEqual(c.slabs.pages[5], [page], 'the same page went to class 5');
  let wrong = 0;
  for (let i = 1; i < n; i += 2) if (getS(c, key(i)) !== val(i)) wrong++;
  t.is(wrong, 0, 'every rescued item reads back');
  t.is(c.counters.curr_items, Math.ceil((n - 1) / 2));
  t.true(consistent(c));
  const s = asMap(statsReport(f.ctx, f.conn, []) as Array<[string, string]>);
  t.is(s.get('slabs_moved'), '1');
  t.is(Number(s.get('slab_reassign_rescues')), Math.floor(per / 2));
  t.is(s.get('slab_reassign_evictions_nomem'), '0');
  t.is(s.get('slab_reassign_running'), '0');
  // the moved page now stores class 5 items
  setS(c, NREAD_SET, 'big', 'x'.repeat(c.slabs.size[5] - c.hdr.headerSize - 3));
  t.is(c.classOf(c.peek(k('big'), 0, 3)), 5);
  t.is(c.slabs.usedChunks[1], c.slabs.totalPages[1] * per - c.slabs.freeChunks(1));
});

test('with no room left in the class, the page\'s items are evicted', (t) => {
  const f = makeFixture();
  const c = f.cache;
  const per = c.slabs.perslab[1];
  for (let i = 0; i < per * 2; i++) setS(c, NREAD_SET, key(i), val(i));
  t.is(c.slabs.freeChunks(1), 0);
  const mover = f.ctx.mover;
  t.is(mover.reassign(1, 0), REASSIGN_OK);
  t.true(mover.finish());
  t.is(c.slabs.totalPages[1], 1);
  t.is(globalPagePool(c.mem), 1, 'dst 0 is the global page pool');
  t.is(c.counters.slab_reassign_evictions_nomem, per);
  t.is(c.counters.curr_items, per);
  t.is(getS(c, key(0)), null);
  t.is(getS(c, key(per * 2 - 1)), val(per * 2 - 1));
  t.true(consistent(c));
  // a class that needs a page takes the pooled one before growing memory
  const reserved = c.mem.reservedBytes;
  setS(c, NREAD_SET, 'other', 'x'.repeat(500));
  t.is(globalPagePool(c.mem), 0);
  t.is(c.mem.reservedBytes, reserved);
  t.is(asMap(statsReport(f.ctx, f.conn, ['slabs']) as Array<[string, string]>).get('total_malloced'),
    String((c.slabs.totalPages[1] + 1) * 1024 * 1024));
});

test('pinned items hold the page until they are released', (t) => {
  const f = makeFixture();
  const c = f.cache;
  const per = c.slabs.perslab[1];
  for (let i = 0; i < per + 10; i++) setS(c, NREAD_SET, key(i), val(i));
  const h = c.peek(k(key(3)), 0, 7);
  t.true(c.pin(h)); // a reply still being written from this item
  const mover = f.ctx.mover;
  t.is(mover.reassign(1, 2), REASSIGN_OK);
  t.false(mover.finish(3));
  t.true(mover.running);
  t.true(c.counters.slab_reassign_busy_items >= 3);
  t.is(valueOf(c, h).toString(), val(3), 'the pinned bytes are untouched');
  c.unpin(h);
  t.true(mover.finish());
  t.is(c.slabs.totalPages[2], 1);
  t.true(consistent(c));
  mover.stop();
});

test('chained items: continuation chunks and heads move, values stay intact', (t) => {
  const f = makeFixture();
  const c = f.cache;
  const big = (i: number): Buffer => Buffer.alloc(700 * 1024, i + 1);
  const N = 14;
  for (let i = 0; i < N; i++) {
    const v = big(i);
    t.is(c.set(NREAD_SET, k(key(i)), 0, 7, 0, 0, v, 0, v.length), 0);
  }
  const head = c.peek(k(key(0)), 0, 7);
  const cont = c.hdr.chainFirst(head);
  const ccls = c.classOf(cont);
  t.true(c.slabs.totalPages[ccls] >= 3, `continuation class ${ccls} has pages to spare`);
  c.delete(k(key(N - 1)), 0, 7); // frees a continuation chunk outside the first page
  const mover = f.ctx.mover;
  t.is(mover.reassign(ccls, 1), REASSIGN_OK);
  t.true(mover.finish());
  t.true(c.counters.slab_reassign_chunk_rescues > 0, 'continuation chunks were rescued');
  t.is(mover.reassign(c.slabs.largest, 1), REASSIGN_OK);
  t.true(mover.finish());
  t.true(c.counters.slab_reassign_rescues > 0, 'chained heads were rescued');
  let alive = 0;
  for (let i = 0; i < N - 1; i++) {
    const h = c.get(k(key(i)), 0, 7);
    if (h === NIL) continue;
    alive++;
    t.true(valueOf(c, h).equals(big(i)), `value ${i} intact`);
  }
  t.true(alive >= N - 4, `${alive} big items survived`);
  t.true(consistent(c));
});

test('slabs commands reply as memcached does', async (t) => {
  const ask = await memcached(t, ['-m', '8']);
  const f = makeFixture(['-m', '8']);
  await ask('set a 0 0 1\r\nx\r\n', 'STORED\r\n');
  setS(f.cache, NREAD_SET, 'a', 'x');
  const lines = [
    'slabs reassign 1 2', 'slabs reassign 1 1', 'slabs reassign 0 1', 'slabs reassign 1 0',
    'slabs reassign -1 2', 'slabs reassign 64 2', 'slabs reassign 1 50', 'slabs reassign x 2',
    'slabs reassign 1', 'slabs reassign 1 2 3', 'slabs reassign 4294967297 1', 'slabs reassign 1 4294967298', 'slabs automove 0', 'slabs automove 2',
    'slabs automove 3', 'slabs automove x', 'slabs automove ratio 0.5', 'slabs automove ratio',
    'slabs automove', 'slabs foo', 'slabs',
  ];
  for (const line of lines) t.is(asText(adminCommand(f.ctx, f.conn, line.split(' '))), await ask(line + '\r\n'), line);
  const s = asMap(statsReport(f.ctx, f.conn, ['settings']) as Array<[string, string]>);
  const m = asMap((await ask('stats settings\r\n')).split('\r\n').filter((l) => l.startsWith('STAT '))
    .map((l) => l.slice(5).split(' ') as [string, string]));
  t.is(s.get('slab_automove'), m.get('slab_automove'));
  t.is(s.get('slab_automove_ratio'), m.get('slab_automove_ratio'));
  t.is(adminCommand(f.ctx, f.conn, ['slabs', 'automove', '1', 'noreply']), '');
  t.is(f.settings.slabAutomove, 1);
  f.settings.slabReassign = false;
  t.is(adminCommand(f.ctx, f.conn, ['slabs', 'reassign', '1', '2']), 'CLIENT_ERROR slab reassignment disabled');
  const mover = f.ctx.mover;
  t.is(mover.reassign(3, 3), REASSIGN_SRC_DST_SAME);
  t.is(mover.reassign(1, f.cache.slabs.largest + 1), REASSIGN_BADCLASS);
  t.is(mover.reassign(1, 2), REASSIGN_NOSPARE);
});

test('automove gives a page of free chunks back to the global pool', (t) => {
  const f = makeFixture();
  const c = f.cache;
  const per = c.slabs.perslab[1];
  for (let i = 0; i < per * 4; i++) setS(c, NREAD_SET, key(i), val(i));
  for (let i = 0; i < per * 4; i += 1) if (i % 4 !== 0) c.delete(k(key(i)), 0, 7);
  const mover = f.ctx.mover;
  mover.automoveTick();
  t.true(mover.running, 'free chunks > 2.5 pages and a quiet window: move one out');
  t.true(mover.finish());
  t.is(c.slabs.totalPages[1], 3);
  t.is(globalPagePool(c.mem), 1);
  let wrong = 0;
  for (let i = 0; i < per * 4; i += 4) if (getS(c, key(i)) !== val(i)) wrong++;
  t.is(wrong, 0);
  f.settings.slabAutomove = 0;
  mover.automoveTick();
  t.false(mover.running, 'slab_automove 0 turns it off');
});

test('automove moves pages toward a class that keeps evicting', (t) => {
  const f = makeFixture(['-m', '8']);
  const c = f.cache;
  const mover = f.ctx.mover;
  // class 1 takes most of memory and then goes quiet
  let i = 0;
  while (c.slabs.totalPages[1] < 6) setS(c, NREAD_SET, key(i), val(i)), i++;
  f.clock.advance(200);
  const bigCls = c.slabs.clsid(c.hdr.headerSize + 7 + 2000);
  let j = 0;
  let before = 0;
  for (let sec = 0; sec < 60 && c.counters.slabs_moved === 0; sec++) {
    // a second of writes to a bigger class, which must evict to store them
    for (let n = 0; n < 600; n++) setS(c, NREAD_SET, `b${String(j++).padStart(5, '0')}`, 'y'.repeat(2000));
    f.clock.advance(1);
    before = c.slabs.totalPages[bigCls];
    mover.automoveTick();
    mover.finish();
  }
  t.true(c.classCounters.evicted[bigCls] > 0);
  t.is(c.counters.slabs_moved, 1);
  t.is(c.slabs.totalPages[bigCls], before + 1);
  t.is(c.slabs.totalPages[1], 5);
  t.true(consistent(c));
});

test('stop() during a move leaves the page with its class and the cache whole', (t) => {
  const f = makeFixture();
  const c = f.cache;
  const per = c.slabs.perslab[1];
  for (let i = 0; i < per * 2; i++) setS(c, NREAD_SET, key(i), val(i));
  for (let i = per; i < per * 2; i += 2) c.delete(k(key(i)), 0, 7);
  const mover = f.ctx.mover;
  mover.start();
  t.teardown(() => mover.stop());
  t.is(mover.reassign(1, 3), REASSIGN_OK);
  mover.step(); // part of the first pass
  mover.stop();
  t.false(mover.running);
  t.is(c.slabs.totalPages[1], 2);
  t.is(c.counters.slab_reassign_running, 0);
  t.true(consistent(c));
  t.is(c.slabs.usedChunks[1], c.slabs.totalPages[1] * per - c.slabs.freeChunks(1), 'no chunk lost');
  let wrong = 0;
  for (let i = 0; i < per; i++) if (getS(c, key(i)) !== val(i)) wrong++;
  t.is(wrong, 0);
});
