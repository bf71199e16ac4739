/**
 * The page mover and the crawler against a model: random stores, reads, deletes and pins
 * (replies still being written) interleaved with slices of page moves, automove and crawls.
 * A read may miss (evictions are allowed) but never returns bytes other than the last ones
 * stored under its key; and when everything settles, every chunk is accounted for.
 */
import test from 'ava';
import { NREAD_SET, STORED } from '../src/cache/status.js';
import { NIL, PAGE_SIZE } from '../src/cache/memory.js';
import { ITEM_CHAINED, ITEM_SLABBED, W_NEXT } from '../src/cache/item-header.js';
import type { Cache } from '../src/cache/engine.js';
import { k, valueOf } from './cache-fixture.js';
import { makeFixture } from './stats-fixture.js';

/** Chunks per class owned by linked items (heads and continuation chunks). */
function chunksInUse(c: Cache): Float64Array {
  const used = new Float64Array(c.slabs.largest + 1);
  for (let id = 0; id < c.lru.head.length; id++) {
    for (let h = c.lru.head[id]; h !== NIL; h = c.hdr.get(h, W_NEXT)) {
      used[c.classOf(h)]++;
      if (c.hdr.itFlags(h) & ITEM_CHAINED) {
        for (let ch = c.hdr.chainFirst(h); ch !== NIL; ch = c.hdr.get(ch, W_NEXT)) used[c.classOf(ch)]++;
      }
    }
  }
  return used;
}

function freeListOk(c: Cache, cls: number): boolean {
  let n = 0;
  for (let h = c.slabs.freeHead[cls]; h !== NIL; h = c.hdr.get(h, W_NEXT)) {
    if ((c.hdr.itFlags(h) & ITEM_SLABBED) === 0 || c.classOf(h) !== cls) return false;
    if (++n > 1e6) return false;
  }
  return n === c.slabs.freeCount[cls];
}

for (const seed of [1, 2, 3, 4]) {
  test(`moves, crawls and traffic keep every value intact (seed ${seed})`, (t) => {
    const f = makeFixture(['-m', '32']);
    const c = f.cache;
    let s = seed * 2654435761;
    const rnd = (n: number): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n;
    const mover = f.ctx.mover;
    const crawler = f.ctx.crawler;
    const model = new Map<string, Buffer>();
    const pins: Array<{ h: number; bytes: Buffer; until: number }> = [];
    let version = 0;
    let bad = 0;
    const valueFor = (): Buffer => {
      const r = rnd(100);
      // few sizes, so that some classes own several pages to move
      const len = r < 1 ? 600 * 1024 + rnd(100 * 1024) : r < 5 ? 30000 + rnd(1000) : r < 30 ? 1500 + rnd(100) : 1 + rnd(40);
      const b = Buffer.alloc(len, version & 0xff);
      if (len >= 4) b.writeUInt32LE(version >>> 0, 0);
      version++;
      return b;
    };
    for (let step = 0; step < 12000; step++) {
      const key = `key${rnd(6000)}`;
      const op = rnd(20);
      if (op < 8) {
        const v = valueFor();
        if (c.set(NREAD_SET, k(key), 0, key.length, 0, rnd(4) === 0 ? 1 + rnd(3) : 0, v, 0, v.length) === STORED) {
          model.set(key, v);
        } else {
          model.delete(key); // memcached unlinks the old value when a store fails
        }
      } else if (op < 15) {
        const h = c.get(k(key), 0, key.length);
        if (h !== NIL) {
          const want = model.get(key);
          if (want === undefined || !valueOf(c, h).equals(want)) bad++;
          if (rnd(10) === 0 && c.pin(h)) pins.push({ h, bytes: valueOf(c, h), until: step + rnd(200) });
        }
      } else if (op < 17) {
        c.delete(k(key), 0, key.length);
        model.delete(key);
      } else if (op === 17) {
        mover.reassign(rnd(c.slabs.largest + 2) - 1, rnd(c.slabs.largest + 1));
      } else if (op === 18) {
        f.clock.advance(1);
        if (rnd(3) === 0) mover.automoveTick();
        if (!crawler.running) crawler.crawl('all');
      } else {
        mover.step();
        crawler.step(50);
      }
      for (let i = pins.length - 1; i >= 0; i--) {
        const p = pins[i];
        if (p.until > step) continue;
        if (!valueOf(c, p.h).equals(p.bytes)) bad++; // a pinned value never changes under a reply
        c.unpin(p.h);
        pins.splice(i, 1);
      }
    }
    t.is(bad, 0, 'no read saw bytes other than the last stored');
    for (const p of pins) {
      if (!valueOf(c, p.h).equals(p.bytes)) bad++;
      c.unpin(p.h);
    }
    t.is(bad, 0, 'pinned values held still');
    mover.finish(2000);
    t.false(mover.running);
    crawler.finish();
    // every live key reads back its last value
    let wrong = 0;
    for (const [key, v] of model) {
      const h = c.peek(k(key), 0, key.length);
      if (h !== NIL && !valueOf(c, h).equals(v)) wrong++;
    }
    t.is(wrong, 0);
    t.true(c.counters.slabs_moved > 0, 'pages did move');
    t.true(c.counters.slab_reassign_rescues > 0, 'items were rescued');
    t.log(JSON.stringify({ moved: c.counters.slabs_moved, rescues: c.counters.slab_reassign_rescues, chunkRescues: c.counters.slab_reassign_chunk_rescues, nomem: c.counters.slab_reassign_evictions_nomem, busy: c.counters.slab_reassign_busy_items, inline: c.counters.slab_reassign_inline_reclaim, crawled: c.counters.crawler_reclaimed }));
    // accounting: used chunks are exactly the linked items' chunks; free lists are sound
    const used = chunksInUse(c);
    let pages = 0;
    for (let cls = 1; cls <= c.slabs.largest; cls++) {
      t.is(c.slabs.usedChunks[cls], used[cls], `class ${cls} used chunks`);
      t.is(c.slabs.totalPages[cls] * c.slabs.perslab[cls] - c.slabs.freeChunks(cls), used[cls], `class ${cls} free chunks`);
      t.true(freeListOk(c, cls), `class ${cls} free list`);
      pages += c.slabs.totalPages[cls];
    }
    t.is(pages, c.mem.pagesInUse);
    t.true(c.mem.reservedBytes <= (32 + 40) * PAGE_SIZE);
  });
}
