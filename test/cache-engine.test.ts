import test from 'ava';
import { NIL } from '../src/cache/memory.js';
import {
  DELETED, EXISTS, NO_MEMORY, NON_NUMERIC, NOT_FOUND, NOT_STORED, NREAD_ADD, NREAD_APPEND,
  NREAD_CAS, NREAD_PREPEND, NREAD_REPLACE, NREAD_SET, OK, STORED, TOO_LARGE,
} from '../src/cache/status.js';
import { REALTIME_MAXDELTA } from '../src/cache/clock.js';
import { HEADER_SIZE_CAS, HEADER_SIZE_NOCAS } from '../src/cache/item-header.js';
import { getS, k, makeCache, MB, setS, valueOf } from './cache-fixture.js';
import { ArithResult } from '../src/cache/arith.js';
import { StoreResult, ValueCursor } from '../src/cache/results.js';

/** the caller's incr/decr result, as a connection owns one */
const ar = new ArithResult();

const SET = NREAD_SET;

test('set then get returns the bytes, flags and a CAS', (t) => {
  const { cache } = makeCache();
  t.is(setS(cache, SET, 'foo', 'bar', 0xdeadbeef), STORED);
  const h = cache.get(k('foo'), 0, 3);
  t.not(h, NIL);
  t.is(valueOf(cache, h).toString(), 'bar');
  t.is(cache.flags(h), 0xdeadbeef);
  t.true(cache.cas(h) > 0);
  t.is(getS(cache, 'nope'), null);
});

test('keys are compared as bytes, including binary and prefix-equal keys', (t) => {
  const { cache } = makeCache();
  setS(cache, SET, 'ab', '1');
  setS(cache, SET, 'abc', '2');
  setS(cache, SET, 'a\u00ffb', '3');
  t.is(getS(cache, 'ab'), '1');
  t.is(getS(cache, 'abc'), '2');
  t.is(getS(cache, 'a\u00ffb'), '3');
  t.is(getS(cache, 'a'), null);
});

test('keys of every length up to 250 differ from each one byte off, wherever that byte is', (t) => {
  for (const useCas of [true, false]) {
    const { cache } = makeCache({ useCas });
    const keys: string[] = [];
    for (const len of [1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 31, 32, 33, 249, 250]) {
      const key = Array.from({ length: len }, (_, i) => String.fromCharCode(0x41 + ((i * 7 + len) % 26))).join('');
      keys.push(key);
      setS(cache, SET, key, `v${len}`);
    }
    for (const key of keys) {
      t.is(getS(cache, key), `v${key.length}`, `${useCas ? '' : '-C '}key of ${key.length}`);
      for (let at = 0; at < key.length; at++) {
        // the same bytes but one, at every position (first, inside a word, the last)
        const off = key.slice(0, at) + String.fromCharCode(key.charCodeAt(at) ^ 0x80) + key.slice(at + 1);
        t.is(getS(cache, off), null, `${useCas ? '' : '-C '}key of ${key.length}, byte ${at} differs`);
      }
    }
  }
});

test('a key inside a larger buffer is read in place', (t) => {
  const { cache } = makeCache();
  const req = k('get   mykey  ');
  t.is(cache.set(SET, req, 6, 5, 0, 0, k('v'), 0, 1), STORED);
  t.is(getS(cache, 'mykey'), 'v');
});

test('add, replace', (t) => {
  const { cache } = makeCache();
  t.is(setS(cache, NREAD_REPLACE, 'a', 'x'), NOT_STORED);
  t.is(setS(cache, NREAD_ADD, 'a', 'x'), STORED);
  t.is(setS(cache, NREAD_ADD, 'a', 'y'), NOT_STORED);
  t.is(getS(cache, 'a'), 'x');
  t.is(setS(cache, NREAD_REPLACE, 'a', 'z'), STORED);
  t.is(getS(cache, 'a'), 'z');
});

test('append and prepend keep flags and exptime; missing key is NOT_STORED', (t) => {
  const { cache, clock } = makeCache();
  t.is(setS(cache, NREAD_APPEND, 'a', 'x'), NOT_STORED);
  t.is(setS(cache, NREAD_PREPEND, 'a', 'x'), NOT_STORED);
  setS(cache, SET, 'a', 'mid', 7, 100);
  t.is(setS(cache, NREAD_APPEND, 'a', '>>', 99, 0), STORED);
  t.is(setS(cache, NREAD_PREPEND, 'a', '<<', 99, 0), STORED);
  const h = cache.get(k('a'), 0, 1);
  t.is(valueOf(cache, h).toString(), '<<mid>>');
  t.is(cache.flags(h), 7);
  clock.advance(101);
  t.is(getS(cache, 'a'), null);
});

test('append grows an item into another class and into a chained item', (t) => {
  const { cache } = makeCache({ itemSizeMax: 4 * MB });
  setS(cache, SET, 'g', 'a');
  const c1 = cache.classOf(cache.peek(k('g'), 0, 1));
  setS(cache, NREAD_APPEND, 'g', 'b'.repeat(500));
  const c2 = cache.classOf(cache.peek(k('g'), 0, 1));
  t.true(c2 > c1);
  const big = Buffer.alloc(700 * 1024, 0x63);
  t.is(setS(cache, NREAD_APPEND, 'g', big), STORED);
  const h = cache.get(k('g'), 0, 1);
  const v = valueOf(cache, h);
  t.is(v.length, 1 + 500 + big.length);
  t.is(v.subarray(0, 501).toString(), 'a' + 'b'.repeat(500));
  t.true(v.subarray(501).equals(big));
  t.is(cache.classOf(h), cache.slabs.largest);
  // and prepend onto the chained item
  t.is(setS(cache, NREAD_PREPEND, 'g', 'P'), STORED);
  const v2 = valueOf(cache, cache.get(k('g'), 0, 1));
  t.is(v2[0], 0x50);
  t.true(v2.subarray(1).equals(v));
});

test('CAS: match, mismatch, missing key, after touch, after every change', (t) => {
  const { cache } = makeCache();
  t.is(setS(cache, NREAD_CAS, 'c', 'x', 0, 0, 12345), NOT_FOUND);
  setS(cache, SET, 'c', 'v1');
  const cas1 = cache.cas(cache.get(k('c'), 0, 1));
  t.is(setS(cache, NREAD_CAS, 'c', 'v2', 0, 0, cas1 + 1000), EXISTS);
  t.is(getS(cache, 'c'), 'v1');
  cache.touch(k('c'), 0, 1, 100);
  t.is(cache.cas(cache.get(k('c'), 0, 1)), cas1, 'touch keeps the CAS');
  t.is(setS(cache, NREAD_CAS, 'c', 'v2', 0, 0, cas1), STORED);
  const cas2 = cache.cas(cache.get(k('c'), 0, 1));
  t.not(cas2, cas1);
  t.is(setS(cache, NREAD_CAS, 'c', 'v3', 0, 0, cas1), EXISTS, 'an old CAS no longer works');
  t.is(cache.arith(k('c'), 0, 1, true, 1n, ar), NON_NUMERIC);
  setS(cache, SET, 'n', '5');
  const casN = cache.cas(cache.get(k('n'), 0, 1));
  t.is(cache.arith(k('n'), 0, 1, true, 1n, ar), OK);
  t.not(cache.cas(cache.get(k('n'), 0, 1)), casN, 'incr changes the CAS');
});

test('-C: no CAS, smaller header', (t) => {
  const { cache } = makeCache({ useCas: false });
  t.is(cache.hdr.headerSize, HEADER_SIZE_NOCAS);
  setS(cache, SET, 'a', 'b');
  t.is(cache.cas(cache.get(k('a'), 0, 1)), 0);
  t.is(makeCache().cache.hdr.headerSize, HEADER_SIZE_CAS);
  t.true(HEADER_SIZE_CAS <= 40);
});

test('incr/decr: 64-bit wrap, decr floors at 0, in-place space padding, non-numeric', (t) => {
  const { cache } = makeCache();
  setS(cache, SET, 'n', '18446744073709551615');
  t.is(cache.arith(k('n'), 0, 1, true, 1n, ar), OK);
  t.is(ar.toBigInt(), 0n);
  t.is(getS(cache, 'n'), '0' + ' '.repeat(19), 'shorter result is padded in place, as memcached does');
  setS(cache, SET, 'n', '10');
  t.is(cache.arith(k('n'), 0, 1, false, 11n, ar), OK);
  t.is(ar.toBigInt(), 0n);
  setS(cache, SET, 'n', '99');
  t.is(cache.arith(k('n'), 0, 1, true, 1n, ar), OK);
  t.is(getS(cache, 'n'), '100', 'longer result makes a new item');
  t.is(cache.arith(k('missing'), 0, 7, true, 1n, ar), NOT_FOUND);
  setS(cache, SET, 'x', 'abc');
  t.is(cache.arith(k('x'), 0, 1, true, 1n, ar), NON_NUMERIC);
  setS(cache, SET, 'x', '12abc');
  t.is(cache.arith(k('x'), 0, 1, true, 1n, ar), NON_NUMERIC);
  setS(cache, SET, 'x', '');
  t.is(cache.arith(k('x'), 0, 1, true, 1n, ar), NON_NUMERIC);
  setS(cache, SET, 'x', '18446744073709551616');
  t.is(cache.arith(k('x'), 0, 1, true, 1n, ar), NON_NUMERIC, 'over 2^64-1 is not a number');
  setS(cache, SET, 'x', '-1');
  t.is(cache.arith(k('x'), 0, 1, true, 1n, ar), NON_NUMERIC);
  setS(cache, SET, 'x', '7 ');
  t.is(cache.arith(k('x'), 0, 1, true, 1n, ar), OK);
  t.is(ar.toBigInt(), 8n);
});

test('arith with an initial value creates the item on a miss', (t) => {
  const { cache, clock } = makeCache();
  t.is(cache.arith(k('i'), 0, 1, true, 5n, ar, 42n, 10), OK);
  t.is(ar.toBigInt(), 42n);
  t.is(getS(cache, 'i'), '42');
  t.is(cache.arith(k('i'), 0, 1, true, 5n, ar, 42n, 10), OK);
  t.is(ar.toBigInt(), 47n);
  clock.advance(11);
  t.is(getS(cache, 'i'), null);
});

test('exptime rules: 0 never, relative up to 30 days, absolute above, negative expired', (t) => {
  const { cache, clock } = makeCache();
  setS(cache, SET, 'never', 'v', 0, 0);
  setS(cache, SET, 'rel', 'v', 0, 10);
  setS(cache, SET, 'max', 'v', 0, REALTIME_MAXDELTA);
  setS(cache, SET, 'abs', 'v', 0, clock.processStarted + clock.now + 20);
  setS(cache, SET, 'past', 'v', 0, clock.processStarted - 5 + REALTIME_MAXDELTA * 0 + 1);
  setS(cache, SET, 'neg', 'v', 0, -1);
  t.is(getS(cache, 'neg'), null);
  t.is(getS(cache, 'past'), null, 'absolute time in the past');
  clock.advance(9);
  t.is(getS(cache, 'rel'), 'v');
  clock.advance(1);
  t.is(getS(cache, 'rel'), null, 'expires when now reaches exptime');
  t.is(getS(cache, 'abs'), 'v');
  clock.advance(10);
  t.is(getS(cache, 'abs'), null);
  t.is(getS(cache, 'max'), 'v');
  clock.advance(REALTIME_MAXDELTA);
  t.is(getS(cache, 'max'), null);
  t.is(getS(cache, 'never'), 'v');
  t.is(cache.counters.get_expired, 5, 'neg, past, rel, abs, max');
});

test('touch and gat change the expiry', (t) => {
  const { cache, clock } = makeCache();
  setS(cache, SET, 't', 'v', 0, 5);
  t.not(cache.touch(k('t'), 0, 1, 100), NIL);
  t.is(cache.touch(k('zz'), 0, 2, 100), NIL);
  clock.advance(50);
  t.is(getS(cache, 't'), 'v');
  t.not(cache.gat(k('t'), 0, 1, 0), NIL);
  clock.advance(1000);
  t.is(getS(cache, 't'), 'v');
  t.is(cache.ttl(cache.peek(k('t'), 0, 1)), -1);
});

test('delete, with and without CAS', (t) => {
  const { cache } = makeCache();
  t.is(cache.delete(k('d'), 0, 1), NOT_FOUND);
  setS(cache, SET, 'd', 'v');
  const cas = cache.cas(cache.peek(k('d'), 0, 1));
  t.is(cache.delete(k('d'), 0, 1, cas + 1), EXISTS);
  t.is(cache.delete(k('d'), 0, 1, cas), DELETED);
  t.is(getS(cache, 'd'), null);
  t.is(cache.counters.curr_items, 0);
});

test('flush_all now, and with a delay', (t) => {
  const { cache, clock } = makeCache();
  setS(cache, SET, 'a', '1');
  clock.advance(3);
  setS(cache, SET, 'b', '2');
  cache.flush(0);
  t.is(getS(cache, 'a'), null);
  t.is(getS(cache, 'b'), null, 'same-second item is flushed too (CAS rule)');
  setS(cache, SET, 'c', '3');
  t.is(getS(cache, 'c'), 'c' === 'c' ? '3' : '', 'items stored after the flush live');
  clock.advance(2);
  cache.flush(10);
  t.is(getS(cache, 'c'), '3', 'delayed flush does nothing yet');
  clock.advance(11);
  t.is(getS(cache, 'c'), null);
  setS(cache, SET, 'd', '4');
  t.is(getS(cache, 'd'), '4');
});

test('flush_all without CAS', (t) => {
  const { cache, clock } = makeCache({ useCas: false });
  setS(cache, SET, 'a', '1');
  clock.advance(1);
  cache.flush(0);
  t.is(getS(cache, 'a'), null);
  clock.advance(1);
  setS(cache, SET, 'b', '2');
  t.is(getS(cache, 'b'), '2');
});

test('1-byte and -I-sized values; one byte more is TOO_LARGE, at memcached\'s limit (-I - 59 - key)', (t) => {
  const { cache } = makeCache();
  t.is(setS(cache, SET, 'one', 'x'), STORED);
  t.is(getS(cache, 'one'), 'x');
  t.is(setS(cache, SET, 'empty', ''), STORED);
  t.is(getS(cache, 'empty'), '');
  const max = MB - 59 - 3;
  const big = Buffer.alloc(max);
  for (let i = 0; i < max; i++) big[i] = (i * 131) & 0xff;
  t.is(setS(cache, SET, 'big', big), STORED);
  t.true(valueOf(cache, cache.get(k('big'), 0, 3)).equals(big));
  t.is(setS(cache, SET, 'big', Buffer.alloc(max + 1)), TOO_LARGE);
  t.true(valueOf(cache, cache.get(k('big'), 0, 3)).equals(big), 'a refused set leaves the old value');
});

test('values up to a large -I are chained and read back exactly', (t) => {
  const { cache } = makeCache({ itemSizeMax: 8 * MB, maxbytes: 64 * MB });
  for (const n of [512 * 1024 - 60, 512 * 1024, 600_000, 1_048_576, 5_000_001]) {
    const v = Buffer.alloc(n);
    for (let i = 0; i < n; i++) v[i] = (i * 7 + n) & 0xff;
    t.is(setS(cache, SET, 'c' + n, v), STORED, `size ${n}`);
    t.true(valueOf(cache, cache.get(k('c' + n), 0, ('c' + n).length)).equals(v), `size ${n}`);
  }
  // streaming writes in odd pieces land in the right places
  const n = 3_000_000;
  const v = Buffer.alloc(n);
  for (let i = 0; i < n; i++) v[i] = (i * 13) & 0xff;
  const h = cache.alloc(k('s'), 0, 1, 0, 0, n);
  for (let off = 0; off < n;) {
    const step = Math.min(n - off, 1 + ((off * 31) % 70_000));
    cache.writeValue(h, off, v, off, off + step);
    off += step;
  }
  t.is(cache.store(h, SET), STORED);
  t.true(valueOf(cache, cache.get(k('s'), 0, 1)).equals(v));
});

test('an upload cursor follows its own value, and a reused head starts again from the top', (t) => {
  const { cache } = makeCache({ itemSizeMax: 4 * MB });
  const cur = new ValueCursor();
  const n = 2_000_000;
  const fill = (seed: number): Buffer => {
    const v = Buffer.alloc(n);
    for (let i = 0; i < n; i++) v[i] = (i * seed) & 0xff;
    return v;
  };
  const upload = (key: string, v: Buffer): number => {
    const h = cache.alloc(k(key), 0, key.length, 0, 0, n);
    for (let off = 0; off < n;) {
      const step = Math.min(n - off, 1 + ((off * 17) % 90_000));
      cache.writeValue(h, off, v, off, off + step, cur);
      off += step;
    }
    return h;
  };
  const a = fill(13);
  const h1 = upload('a', a);
  cache.release(h1);
  // the freed head and chain come back to the next upload of the same size,
  // with the cursor still naming that head from the last one
  const b = fill(29);
  const h2 = upload('b', b);
  t.is(h2, h1, 'the head was handed out again');
  t.is(cache.store(h2, SET), STORED);
  t.true(valueOf(cache, cache.get(k('b'), 0, 1)).equals(b));
});

test('store and arith hand back the linked item in the caller\'s result', (t) => {
  const { cache } = makeCache({ itemSizeMax: 4 * MB });
  const res = new StoreResult();
  const h = cache.alloc(k('s'), 0, 1, 0, 0, 2);
  cache.writeValue(h, 0, k('ab'), 0, 2);
  t.is(cache.store(h, SET, 0, res), STORED);
  t.is(res.item, h);
  t.is(res.item, cache.peek(k('s'), 0, 1));
  // append links a new, joined item
  const add = cache.alloc(k('s'), 0, 1, 0, 0, 600_000);
  cache.writeValue(add, 0, Buffer.alloc(600_000, 0x63), 0, 600_000);
  t.is(cache.store(add, NREAD_APPEND, 0, res), STORED);
  t.not(res.item, h);
  t.is(res.item, cache.peek(k('s'), 0, 1));
  t.is(cache.valueLength(res.item), 600_002);
  t.is(cache.store(cache.alloc(k('s'), 0, 1, 0, 0, 0), NREAD_ADD, 0, res), NOT_STORED);
  t.is(res.item, NIL);
  setS(cache, SET, 'n', '9');
  t.is(cache.arith(k('n'), 0, 1, true, 1, ar), OK);
  t.is(ar.item, cache.peek(k('n'), 0, 1), 'grown past the old value: a new item');
  t.is(cache.cas(ar.item), cache.cas(cache.peek(k('n'), 0, 1)));
  t.is(cache.arith(k('n'), 0, 1, false, 1, ar), OK);
  t.is(ar.item, cache.peek(k('n'), 0, 1), 'in place');
  t.is(cache.arith(k('none'), 0, 4, true, 1, ar), NOT_FOUND);
  t.is(ar.item, NIL);
});

test('alloc failures say why without engine state: too large, or no memory', (t) => {
  const { cache } = makeCache({ maxbytes: 2 * MB, evictToFree: false });
  t.false(cache.itemSizeOk(1, 2 * MB));
  t.is(cache.alloc(k('x'), 0, 1, 0, 0, 2 * MB), NIL);
  t.is(cache.allocFailure(1, 2 * MB), TOO_LARGE);
  let n = 0;
  while (cache.alloc(k('y' + n), 0, String(n).length + 1, 0, 0, 100_000) !== NIL) n++;
  t.true(cache.itemSizeOk(1, 100_000));
  t.is(cache.allocFailure(1, 100_000), NO_MEMORY);
});

test('eviction takes the least recently used items of the class first', (t) => {
  const { cache } = makeCache({ maxbytes: 2 * MB });
  const v = Buffer.alloc(1000, 0x61);
  let i = 0;
  while (cache.counters.evictions === 0) {
    t.is(setS(cache, SET, 'k' + i, v), STORED);
    // keep k0 hot: fetched twice makes it active
    getS(cache, 'k0');
    getS(cache, 'k0');
    i++;
  }
  t.is(getS(cache, 'k1'), null, 'the oldest untouched item went first');
  t.not(getS(cache, 'k0'), null, 'the hot item survived');
  t.not(getS(cache, 'k' + (i - 1)), null, 'the newest item is there');
  t.true(cache.counters.evicted_unfetched > 0);
});

test('expired items are reclaimed before anything live is evicted', (t) => {
  const { cache, clock } = makeCache({ maxbytes: 2 * MB });
  const v = Buffer.alloc(1000, 0x61);
  let i = 0;
  // odd items expire in 5 s; fill until the class is full and evicting
  for (; cache.counters.evictions === 0; i++) setS(cache, SET, 'e' + i, v, 0, i % 2 ? 5 : 0);
  const evictions = cache.counters.evictions;
  clock.advance(6);
  // the tail window (TAIL_SEARCH items) holds expired items: they go, not the live
  // ones nearer the tail; deeper expired items are the crawler's job
  for (let j = 0; j < 2; j++) setS(cache, SET, 'new' + j, v);
  t.is(cache.counters.evictions, evictions, 'no live item evicted while expired ones are in reach');
  t.is(cache.counters.reclaimed, 2);
  const live = (i - 1) % 2 === 0 ? i - 1 : i - 2;
  t.is(getS(cache, 'e' + live)?.length, 1000, 'live items stay');
});

test('-M: out of memory instead of eviction', (t) => {
  const { cache } = makeCache({ maxbytes: 2 * MB, evictToFree: false });
  const v = Buffer.alloc(1000, 0x61);
  let st = STORED;
  let i = 0;
  for (; st === STORED && i < 100_000; i++) st = setS(cache, SET, 'm' + i, v);
  t.is(st, NO_MEMORY);
  t.is(cache.counters.evictions, 0);
  t.is(getS(cache, 'm0')?.length, 1000, 'nothing was evicted');
  t.is(setS(cache, SET, 'small', 'x'), STORED, 'another class can still take its first page');
});

test('a pinned item keeps its bytes after overwrite and eviction until unpinned', (t) => {
  const { cache } = makeCache({ maxbytes: 2 * MB });
  const v = Buffer.alloc(100_000, 0x41);
  setS(cache, SET, 'p', v);
  const h = cache.get(k('p'), 0, 1);
  t.true(cache.pin(h));
  setS(cache, SET, 'p', Buffer.alloc(100_000, 0x42));
  for (let i = 0; i < 100; i++) setS(cache, SET, 'f' + i, Buffer.alloc(100_000, 0x43));
  t.true(valueOf(cache, h).equals(v), 'pinned bytes unchanged');
  const used = cache.slabs.usedChunks[cache.classOf(h)];
  cache.unpin(h);
  t.is(cache.slabs.usedChunks[cache.classOf(h)], used - 1, 'unpin frees the unlinked item');
});

test('the hash index doubles and keeps every key findable', (t) => {
  const { cache } = makeCache({ hashpowerInit: 4, maxbytes: 64 * MB });
  for (let i = 0; i < 20_000; i++) setS(cache, SET, 'h' + i, String(i));
  t.true(cache.index.hashpower > 4);
  for (let i = 0; i < 20_000; i++) if (getS(cache, 'h' + i) !== String(i)) return t.fail(`lost h${i}`);
  while (cache.maintain());
  for (let i = 0; i < 20_000; i += 7) if (getS(cache, 'h' + i) !== String(i)) return t.fail(`lost h${i} after migration`);
  t.is(cache.counters.curr_items, 20_000);
});

test('stats counters move as memcached\'s do', (t) => {
  const { cache } = makeCache();
  setS(cache, SET, 'a', '1');
  getS(cache, 'a');
  getS(cache, 'b');
  const cls = cache.classOf(cache.peek(k('a'), 0, 1));
  t.is(cache.counters.get_cmds, 2);
  t.is(cache.counters.get_misses, 1);
  t.is(cache.classCounters.get_hits[cls], 1);
  t.is(cache.classCounters.cmd_set[cls], 1);
  t.is(cache.counters.curr_items, 1);
  t.is(cache.counters.total_items, 1);
  t.is(cache.counters.bytes, cache.hdr.headerSize + 1 + 1);
});

test('pins stop one short of the refcount limit; append under pressure keeps the pinned bytes', (t) => {
  const { cache } = makeCache({ maxbytes: 2 * MB });
  const v = Buffer.alloc(20_000, 0x61);
  setS(cache, SET, 'k', v);
  const h = cache.get(k('k'), 0, 1);
  let pins = 0;
  while (cache.pin(h)) pins++;
  t.is(pins, 254, 'the last count stays free for the engine');
  // fill the class so the append's allocation must evict
  for (let i = 0; i < 200; i++) setS(cache, SET, 'f' + i, v);
  t.is(setS(cache, NREAD_APPEND, 'k', 'X'), STORED);
  t.true(valueOf(cache, h).equals(v), 'pinned readers still see the original bytes');
  const joined = valueOf(cache, cache.get(k('k'), 0, 1));
  t.is(joined.length, 20_001);
  t.is(joined[20_000], 0x58);
  for (let i = 0; i < pins; i++) cache.unpin(h);
});

test('slab classes: the exact series base * f^k rounded up to 8, at most 63, the last slab_chunk_max', (t) => {
  const sizes = (f: number): number[] => makeCache({ growthFactor: f }).cache.slabs.size.slice(1);
  const fine = sizes(1.15);
  // memcached compounds its round-ups: 88, 104, 120, 144, 168
  t.deepEqual(fine.slice(0, 6), [88, 104, 120, 136, 160, 184]);
  t.is(fine.length, 63);
  t.is(fine[62], 512 * 1024);
  t.deepEqual(sizes(1.25).slice(0, 5), [88, 112, 144, 176, 216]);
  const tight = sizes(1.01);
  t.is(tight.length, 63, 'a factor near 1 still stops at 63 classes');
  t.true(tight.every((s, i) => s % 8 === 0 && (i === 0 || s > tight[i - 1])), 'distinct, growing, aligned');
  for (const f of [1.01, 1.15, 1.25, 2]) {
    const s = sizes(f);
    const c = makeCache({ growthFactor: f }).cache.slabs;
    t.true(s.every((size, i) => c.perslab[i + 1] === Math.floor(1024 * 1024 / size)));
  }
});
