/**
 * The engine's item-event hook on its own: what a lookup, a store, an eviction
 * and slab_automove report, and that nothing is reported once the hook is unset.
 * (The lines these become are compared with memcached's in watch-differential.)
 */
import test from 'ava';
import type { ItemLog } from '../src/cache/item-log.js';
import { GET_EXPIRED, GET_FLUSHED, GET_FOUND, GET_NOT_FOUND } from '../src/cache/item-log.js';
import { PageMover } from '../src/cache/page-mover.js';
import { EXISTS, NOT_STORED, NREAD_ADD, NREAD_APPEND, NREAD_CAS, NREAD_SET, STORED } from '../src/cache/status.js';
import { getS, k, makeCache, setS } from './cache-fixture.js';
import { makeFixture } from './stats-fixture.js';

/** Records every call as a line of text. */
class Recorder implements ItemLog {
  lines: string[] = [];
  itemGet(key: Uint8Array, ks: number, kl: number, wasFound: number, clsid: number, nbytes: number): void {
    this.lines.push(`get ${Buffer.from(key.subarray(ks, ks + kl)).toString('latin1')} ${wasFound} ${clsid > 0 ? 'cls' : 0} ${nbytes}`);
  }
  itemStore(key: Uint8Array, ks: number, kl: number, status: number, mode: number, nbytes: number, ttl: number): void {
    this.lines.push(`store ${Buffer.from(key.subarray(ks, ks + kl)).toString('latin1')} ${status} ${mode} ${nbytes} ${ttl}`);
  }
  eviction(key: Uint8Array, ks: number, kl: number, fetched: boolean, ttl: number, la: number): void {
    this.lines.push(`evict ${Buffer.from(key.subarray(ks, ks + kl)).toString('latin1')} ${fetched} ${ttl} ${la}`);
  }
  slabMove(src: number, dst: number): void {
    this.lines.push(`move ${src} ${dst}`);
  }
}

test('lookups and stores report memcached\'s statuses, sizes and ttls', (t) => {
  const { cache, clock } = makeCache();
  const rec = new Recorder();
  cache.setItemLog(rec);
  t.true(cache.logging);
  t.is(setS(cache, NREAD_SET, 'a', 'xyz', 0, 100), STORED);
  t.is(getS(cache, 'a'), 'xyz');
  t.is(getS(cache, 'b'), null);
  t.is(setS(cache, NREAD_ADD, 'a', 'q'), NOT_STORED);
  t.is(setS(cache, NREAD_APPEND, 'a', '12'), STORED);
  t.is(setS(cache, NREAD_CAS, 'a', 'q', 0, 0, 999), EXISTS);
  setS(cache, NREAD_SET, 'e', 'v', 0, 5);
  clock.now += 10;
  t.is(getS(cache, 'e'), null);
  setS(cache, NREAD_SET, 'f', 'v');
  clock.now += 1;
  cache.flush(0);
  t.is(getS(cache, 'f'), null);
  t.deepEqual(rec.lines, [
    `get a ${GET_NOT_FOUND} 0 0`, `store a ${STORED} ${NREAD_SET} 3 100`,
    `get a ${GET_FOUND} cls 3`,
    `get b ${GET_NOT_FOUND} 0 0`,
    `get a ${GET_FOUND} cls 3`, `store a ${NOT_STORED} ${NREAD_ADD} 1 0`,
    // append reports the joined item, which keeps the old expiry
    `get a ${GET_FOUND} cls 3`, `store a ${STORED} ${NREAD_APPEND} 5 100`,
    `get a ${GET_FOUND} cls 5`, `store a ${EXISTS} ${NREAD_CAS} 1 0`,
    `get e ${GET_NOT_FOUND} 0 0`, `store e ${STORED} ${NREAD_SET} 1 5`,
    `get e ${GET_EXPIRED} 0 0`,
    `get f ${GET_NOT_FOUND} 0 0`, `store f ${STORED} ${NREAD_SET} 1 0`,
    `get f ${GET_FLUSHED} 0 0`,
  ]);
  cache.setItemLog(null);
  t.false(cache.logging);
  getS(cache, 'a');
  setS(cache, NREAD_SET, 'z', 'z');
  t.is(rec.lines.length, 16, 'nothing once the hook is unset');
});

test('an eviction reports the key, whether it was fetched, ttl -1 and its idle seconds', (t) => {
  const { cache, clock } = makeCache({ maxbytes: 2 * 1024 * 1024 });
  const rec = new Recorder();
  const value = 'x'.repeat(50_000);
  setS(cache, NREAD_SET, 'first', value);
  getS(cache, 'first');
  clock.now += 7;
  cache.setItemLog(rec);
  for (let i = 0; i < 100 && !rec.lines.some((l) => l.startsWith('evict')); i++) setS(cache, NREAD_SET, `k${i}`, value);
  t.true(rec.lines.includes('evict first true -1 7'), rec.lines.filter((l) => l.startsWith('evict')).join('\n'));
});

test('slab_automove=1 reports the page move it decides', (t) => {
  const f = makeFixture();
  const c = f.cache;
  const per = c.slabs.perslab[1];
  const key = (i: number): string => `k${String(i).padStart(6, '0')}`;
  for (let i = 0; i < per * 4; i++) setS(c, NREAD_SET, key(i), 'v'.repeat(10));
  for (let i = 0; i < per * 4; i++) if (i % 4 !== 0) c.delete(k(key(i)), 0, 7);
  const rec = new Recorder();
  c.setItemLog(rec);
  // nothing here crawls, so no one needs to hear of relocated items
  const mover = new PageMover(c, f.settings, { relocated() {} });
  mover.automoveTick();
  t.true(mover.running);
  mover.finish();
  // memcached's type=slab_move src=1 dst=0: a page of class 1 back to the global pool
  t.deepEqual(rec.lines.filter((l) => l.startsWith('move')), ['move 1 0']);
});
