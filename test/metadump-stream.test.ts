/**
 * `lru_crawler metadump` is streamed: made a slice at a time between other work,
 * bound by maxOutputBytes like any reply, and the connection takes commands again
 * after END (memcached hands the socket to its crawler thread meanwhile).
 * In-process daemon, real sockets on a loopback port the OS picks. Serial: each
 * test dumps megabytes, and one checks that nothing is left scheduled.
 */
import net from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { NREAD_SET } from '../src/cache/status.js';
import { REASSIGN_OK } from '../src/cache/page-mover.js';
import { DUMP_SLICE_BYTES } from '../src/cache/metadump.js';
import type { Cache } from '../src/cache/engine.js';
import type { Connection } from '../src/server/connection.js';
import type { Settings } from '../src/config.js';
import { daemon, type TestDaemon } from './server-fixture.js';
import { playBoth } from './helpers/differential.js';
import { makeFixture } from './stats-fixture.js';

const LINE = /^key=(\S+) exp=(-1|\d+) la=\d+ cas=\d+ fetch=(yes|no) cls=\d+ size=\d+$/;
const TIMEOUT_MS = 20_000;

/** A daemon with the crawler on but no automatic crawls (they would make dumps BUSY). */
function dumpDaemon(t: ExecutionContext, over: Partial<Settings> = {}): Promise<TestDaemon> {
  return daemon(t, { lruCrawler: true, lruMaintainer: false, ...over });
}

function fill(cache: Cache, n: number, prefix = 'k', value = 'v'.repeat(10)): void {
  const v = Buffer.from(value);
  for (let i = 0; i < n; i++) {
    const key = Buffer.from(`${prefix}${i}`);
    cache.set(NREAD_SET, key, 0, key.length, 0, 0, v, 0, v.length);
  }
}

/** A raw client that keeps everything it received, and can wait for a condition on it. */
interface Client {
  sock: net.Socket;
  /** everything received so far, as latin1 text */
  received(): string;
  bytes(): number;
  send(s: string): void;
  /**
   * Resolves when cond holds; it sees the last TAIL bytes received (a dump is
   * megabytes: looking at all of it on every read would be quadratic) and the total.
   */
  until(cond: (tail: string, total: number) => boolean, what: string): Promise<void>;
}

const TAIL = 4096;

async function client(t: ExecutionContext, port: number): Promise<Client> {
  const sock = net.connect(port, '127.0.0.1');
  t.teardown(() => sock.destroy());
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const chunks: Buffer[] = [];
  let total = 0;
  let waiters: Array<() => void> = [];
  sock.on('data', (b: Buffer) => {
    chunks.push(b);
    total += b.length;
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  });
  sock.on('error', () => {});
  const received = (): string => {
    if (chunks.length > 1) chunks.splice(0, chunks.length, Buffer.concat(chunks));
    return chunks.length ? chunks[0].toString('latin1') : '';
  };
  const tail = (): string => {
    const parts: Buffer[] = [];
    let n = 0;
    for (let i = chunks.length - 1; i >= 0 && n < TAIL; i--) {
      parts.unshift(chunks[i]);
      n += chunks[i].length;
    }
    const b = Buffer.concat(parts);
    return b.subarray(Math.max(0, b.length - TAIL)).toString('latin1');
  };
  return {
    sock,
    received,
    bytes: () => total,
    send: (s) => sock.write(s),
    until(cond, what) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; have ${total} bytes`)), TIMEOUT_MS);
        const check = (): void => {
          if (cond(tail(), total)) {
            clearTimeout(timer);
            resolve();
          } else {
            waiters.push(check);
          }
        };
        check();
      });
    },
  };
}

const endsDump = (s: string): boolean => s.endsWith('END\r\n');

/** Dump lines by key; fails the test on a malformed line. */
function parseDump(t: ExecutionContext, dump: string): Map<string, number> {
  t.true(dump.endsWith('\nEND\r\n') || dump === 'END\r\n', 'ends in END');
  const seen = new Map<string, number>();
  const lines = dump.slice(0, -'END\r\n'.length).split('\n');
  lines.pop(); // after the last \n
  let bad = 0;
  for (const line of lines) {
    const m = LINE.exec(line);
    if (m === null) {
      if (bad++ < 3) t.fail(`malformed line: ${JSON.stringify(line)}`);
      continue;
    }
    seen.set(m[1], (seen.get(m[1]) ?? 0) + 1);
  }
  return seen;
}

/** Our end of client c's connection. */
function serverSide(d: TestDaemon, c: Client): Connection {
  for (const conn of d.connections()) if (conn.socket.remotePort === c.sock.localPort) return conn;
  throw new Error('no such connection');
}

/** Resolves on the turn after `cond` holds (polled once per event-loop turn, with a deadline). */
function whenTrue(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      if (cond()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 1);
    };
    poll();
  });
}

test.serial('a dump of 200,000 items arrives whole, each key once, in slices', async (t) => {
  const d = await dumpDaemon(t);
  fill(d.cache, 200_000);
  const a = await client(t, d.port);
  a.send('lru_crawler metadump all\r\n');
  await a.until(endsDump, 'END');
  const dump = a.received();
  const seen = parseDump(t, dump);
  t.is(seen.size, 200_000);
  let dupes = 0;
  for (const n of seen.values()) if (n !== 1) dupes++;
  t.is(dupes, 0, 'no key twice');
  t.true(seen.has('k0') && seen.has('k199999'));
  t.is(d.ctx.counters.bytes_written, dump.length);
  // the connection takes commands again
  a.send('version\r\n');
  await a.until((s, n) => n > dump.length && s.endsWith('\r\n'), 'VERSION');
  t.regex(a.received().slice(dump.length), /^VERSION \S+\r\n$/);
  t.false(d.ctx.crawler.running);
});

test.serial('while a big dump runs on one connection, another is answered before its END', async (t) => {
  const d = await dumpDaemon(t);
  fill(d.cache, 200_000);
  const a = await client(t, d.port);
  const b = await client(t, d.port);
  a.send('lru_crawler metadump all\r\n');
  await a.until((_s, n) => n > 0, 'the first dump bytes');
  b.send('get k7\r\n');
  await b.until((s) => s.endsWith('END\r\n'), 'the get reply');
  // the order of events, not times: a dump made all at once would be over (and all
  // of it handed to the socket) before b's request was even read
  const crawler = d.ctx.crawler;
  const written = d.ctx.counters.bytes_written;
  t.true(crawler.running, 'the dump was still being made when the get was answered');
  t.is(b.received(), 'VALUE k7 0 10\r\nvvvvvvvvvv\r\nEND\r\n');
  t.false(endsDump(a.received()), 'a had not received END');
  t.is(serverSide(d, a).state, 'conn_watch', 'memcached\'s state for a connection its crawler has');
  await a.until(endsDump, 'END');
  t.is(parseDump(t, a.received()).size, 200_000);
  t.true(written < a.bytes() / 2, `most of the dump was made after the get (${written} of ${a.bytes()} bytes before)`);
});

test.serial('a client that does not read: output for it stays bounded, others are served, another dump is BUSY', async (t) => {
  const maxOutputBytes = 256 * 1024;
  const d = await dumpDaemon(t, { maxOutputBytes });
  fill(d.cache, 200_000); // ~15 MB of dump
  const a = await client(t, d.port);
  a.sock.pause(); // reads nothing: the kernel buffers fill, then ours
  a.send('lru_crawler metadump all\r\n');
  await whenTrue(() => serverSide(d, a).socket.writableLength > maxOutputBytes, 'the dump to reach the bound');
  const conn = serverSide(d, a);
  const bound = maxOutputBytes + 2 * DUMP_SLICE_BYTES;
  const b = await client(t, d.port);
  // many turns of the event loop pass while b is served: the dump must not go on filling memory
  for (let i = 0; i < 50; i++) {
    const before = b.bytes();
    b.send(`get k${i}\r\n`);
    await b.until((s, n) => n > before && s.endsWith('END\r\n'), `get k${i}`);
    t.true(conn.socket.writableLength <= bound, `buffered ${conn.socket.writableLength} bytes`);
  }
  t.regex(b.received(), /^(VALUE k\d+ 0 10\r\nv{10}\r\nEND\r\n){50}$/);
  const before = b.bytes();
  b.send('lru_crawler metadump all\r\nlru_crawler crawl all\r\n');
  await b.until((_s, n) => n - before >= 2 * 'BUSY currently processing crawler request\r\n'.length, 'BUSY twice');
  t.is(b.received().slice(before), 'BUSY currently processing crawler request\r\n'.repeat(2));
  t.true(d.ctx.crawler.running);
  t.true(d.ctx.counters.bytes_written < 15_000_000 / 2, 'most of the dump was never made');
  // now read it: everything comes, once
  a.sock.resume();
  await a.until(endsDump, 'END');
  const seen = parseDump(t, a.received());
  t.is(seen.size, 200_000);
  t.true([...seen.values()].every((n) => n === 1));
});

test.serial('a client gone mid-dump: the dump stops, the next one works, the daemon stops cleanly', async (t) => {
  const d = await dumpDaemon(t, { maxOutputBytes: 128 * 1024 });
  fill(d.cache, 100_000);
  const crawler = d.ctx.crawler;
  const a = await client(t, d.port);
  a.sock.pause();
  a.send('lru_crawler metadump all\r\n');
  await whenTrue(() => serverSide(d, a).socket.writableLength > 0, 'the dump to start');
  t.true(crawler.running);
  a.sock.destroy();
  await crawler.idle(); // resolves only once the dump let go
  t.false(crawler.running);
  await whenTrue(() => [...d.connections()].length === 0, 'the connection to go');
  // a dump on a new connection runs whole
  const c = await client(t, d.port);
  c.send('lru_crawler metadump all\r\n');
  await c.until(endsDump, 'END');
  t.is(parseDump(t, c.received()).size, 100_000);
  // and one cut by the daemon stopping leaves nothing behind
  const e = await client(t, d.port);
  e.sock.pause();
  e.send('lru_crawler metadump all\r\n');
  await whenTrue(() => crawler.running, 'the second dump to start');
  const closed = new Promise<void>((resolve) => e.sock.once('close', () => resolve()));
  e.sock.resume();
  await d.close();
  await closed;
  t.false(crawler.running);
  t.is([...d.connections()].length, 0);
  await new Promise((r) => setImmediate(r));
  t.false(process.getActiveResourcesInfo().includes('Immediate'), 'no slice left scheduled');
});

test.serial('commands after metadump on the same connection are answered after END', async (t) => {
  const d = await dumpDaemon(t);
  fill(d.cache, 50_000);
  const a = await client(t, d.port);
  // pipelined in the same packet
  a.send('lru_crawler metadump all\r\nget k1\r\nversion\r\n');
  await a.until((s) => /END\r\nVALUE k1 0 10\r\nv{10}\r\nEND\r\nVERSION \S+\r\n$/.test(s), 'the replies after END');
  const got = a.received();
  const end = got.indexOf('END\r\n');
  t.is(parseDump(t, got.slice(0, end + 5)).size, 50_000);
  t.regex(got.slice(end + 5), /^VALUE k1 0 10\r\nv{10}\r\nEND\r\nVERSION \S+\r\n$/);
  // sent while the dump runs
  const start = got.length;
  a.send('lru_crawler metadump all\r\n');
  await a.until((_s, n) => n > start, 'the first dump bytes');
  a.send('get k2\r\n');
  await a.until((s) => s.endsWith('VALUE k2 0 10\r\nvvvvvvvvvv\r\nEND\r\n'), 'the get after END');
  const got2 = a.received();
  const dump2 = got2.slice(start, got2.length - 'VALUE k2 0 10\r\nvvvvvvvvvv\r\nEND\r\n'.length);
  t.is(parseDump(t, dump2).size, 50_000, 'the get reply came after the whole dump');
});

test.serial('items changing during the dump: every line whole, items there throughout exactly once', async (t) => {
  const d = await dumpDaemon(t, { maxOutputBytes: 64 * 1024 });
  const cache = d.cache;
  const STABLE = 60_000;
  fill(cache, STABLE, 's');
  fill(cache, 20_000, 'c');
  const a = await client(t, d.port);
  let round = 0;
  // between slices: hits (COLD -> WARM moves, fetched flags), deletes and re-adds (freed
  // chunks reused), new items (HOT -> WARM/COLD balance moves)
  a.sock.on('data', () => {
    for (let i = 0; i < 300; i++) {
      const n = round++;
      const s = Buffer.from(`s${(n * 7919) % STABLE}`);
      cache.get(s, 0, s.length);
      cache.get(s, 0, s.length);
      const c = Buffer.from(`c${(n * 104729) % 20_000}`);
      cache.delete(c, 0, c.length);
      const v = Buffer.from('x'.repeat(n % 40));
      cache.set(NREAD_SET, c, 0, c.length, 0, 0, v, 0, v.length);
      const fresh = Buffer.from(`n${n}`);
      cache.set(NREAD_SET, fresh, 0, fresh.length, 0, 0, v, 0, v.length);
    }
  });
  a.send('lru_crawler metadump all\r\n');
  await a.until(endsDump, 'END');
  const dump = a.received();
  t.true(round > 3000, `the cache changed during the dump (${round} rounds)`);
  const seen = parseDump(t, dump);
  let missing = 0;
  let twice = 0;
  for (let i = 0; i < STABLE; i++) {
    const n = seen.get(`s${i}`) ?? 0;
    if (n === 0) missing++;
    if (n > 1) twice++;
  }
  t.is(missing, 0, 'items there throughout are all dumped');
  t.is(twice, 0, 'and none twice');
  t.is(cache.counters.evictions, 0, 'nothing evicted: the stable items were there throughout');
  const strange = [...seen.keys()].filter((key) => !/^[scn]\d+$/.test(key));
  t.deepEqual(strange, [], 'only keys that were stored');
});

// memcached answers what was pipelined behind a metadump only once more bytes (or
// EOF) arrive after END; we answer it at END. So the script waits for END before it
// sends more: then the bytes on the wire are the same.
test.serial('requests pipelined behind metadump are answered after END, as memcached does', async (t) => {
  await playBoth(t, [
    'set a 0 0 1\r\nx\r\n',
    'set b~%25 0 100 2\r\nyy\r\n',
    { send: 'lru_crawler metadump all\r\nget a\r\nversion\r\n', until: 'END\r\n' },
    'version\r\n',
    { send: 'lru_crawler metadump 1\r\n', until: 'END\r\n' },
    'lru_crawler metadump 99\r\n',
    'version\r\nlru_crawler metadump all\r\n',
  ], {
    // memcached's maintainer thread moves items between LRU lists meanwhile, and its
    // dump can then miss one: without it, its dumps see every item
    args: ['-o', 'no_lru_maintainer'], mask: { replace: [[/ (la|exp)=\d+/g, ' $1=T'], [/ size=\d+/g, ' size=N']] } });
});

/**
 * The walk itself, one item per slice, the cache changed between slices in the ways
 * that break a kept handle: the item just dumped (the place) deleted and its chunk
 * reused by a new item at the head of a list, hits moving items to WARM heads.
 */
for (const [useCas, hotAll] of [[true, false], [false, false], [true, true], [false, true]]) {
  const name = `${useCas ? '' : '-C, '}${hotAll ? 'all in HOT' : 'segmented'}`;
  test.serial(`one item per slice, place deleted and reused each time (${name}): each item once`, (t) => {
    const f = makeFixture({ useCas, lruCrawler: true });
    // all in HOT: the reused chunk lands in the very list being walked, and nothing
    // drains HOT into COLD (where a walk gone astray would find the items anyway)
    if (hotAll) f.cache.opts.hotLruPct = 100;
    const N = 3000;
    fill(f.cache, N, 's');
    const job = f.ctx.crawler.metadump('all');
    if (typeof job === 'number') return t.fail(`metadump: ${job}`);
    job.sliceItems = 1;
    let text = '';
    let j = 0;
    for (let b = job.next(); b !== null; b = job.next()) {
      const slice = b.toString('latin1');
      text += slice;
      const m = /key=(s\d+) /.exec(slice);
      if (m === null) continue;
      const key = Buffer.from(m[1]);
      if (j % 2 === 0) {
        // the place goes; a new item most likely takes its chunk (free lists are LIFO)
        f.cache.delete(key, 0, key.length);
        const fresh = Buffer.from(`n${j}`);
        f.cache.set(NREAD_SET, fresh, 0, fresh.length, 0, 0, fresh, 0, fresh.length);
      }
      const hit = Buffer.from(`s${(j * 7919) % N}`);
      f.cache.get(hit, 0, hit.length);
      f.cache.get(hit, 0, hit.length);
      j++;
    }
    t.true(job.finished);
    const seen = parseDump(t, text);
    const wrong: string[] = [];
    for (let i = 0; i < N; i++) if (seen.get(`s${i}`) !== 1) wrong.push(`s${i}:${seen.get(`s${i}`) ?? 0}`);
    t.deepEqual(wrong, [], 'every item there at the start exactly once');
    t.false(f.ctx.crawler.running, 'the crawler is free again');
  });
}

test.serial('items the page mover moves during a dump are dumped once, not skipped or repeated', (t) => {
  const f = makeFixture({ lruCrawler: true });
  const c = f.cache;
  c.opts.hotLruPct = 100; // one list, in insertion order: the walk's order is known
  const per = c.slabs.perslab[c.slabs.clsid(c.itemBytes(5, 10))];
  // B: three pages' worth, the oldest items; then the first page's items are
  // replaced by 200 A items, which (free lists are LIFO) sit in that first page
  // and are the newest: the dump reaches them last
  fill(c, 3 * per, 'b');
  const cls = c.classOf(c.peek(Buffer.from('b0'), 0, 2));
  for (let i = 0; i < per; i++) c.delete(Buffer.from(`b${i}`), 0, `b${i}`.length);
  const A = 200;
  fill(c, A, 'a');
  const job = f.ctx.crawler.metadump('all');
  if (typeof job === 'number') return t.fail(`metadump: ${job}`);
  job.sliceItems = 1;
  let text = '';
  const dumped: string[] = [];
  const gone = new Set<string>();
  let moved = false;
  for (let b = job.next(); b !== null; b = job.next()) {
    const slice = b.toString('latin1');
    text += slice;
    const m = /key=(\w+) /.exec(slice);
    if (m !== null) dumped.push(m[1]);
    if (!moved && dumped.length === 400) {
      // free 300 chunks that hold dumped items, then move the first page: its A items
      // (not dumped yet) are rescued into exactly those chunks
      for (const k of dumped.slice(0, 300)) {
        c.delete(Buffer.from(k), 0, k.length);
        gone.add(k);
      }
      const mover = f.ctx.mover;
      t.is(mover.reassign(cls, 0), REASSIGN_OK);
      t.true(mover.finish());
      t.is(c.counters.slab_reassign_evictions_nomem, 0, 'every item in the page was rescued');
      t.true(c.counters.slab_reassign_rescues >= A);
      moved = true;
    }
  }
  t.true(moved);
  const seen = parseDump(t, text);
  const wrong: string[] = [];
  for (let i = per; i < 3 * per; i++) {
    const k = `b${i}`;
    if (!gone.has(k) && seen.get(k) !== 1) wrong.push(`${k}:${seen.get(k) ?? 0}`);
  }
  for (let i = 0; i < A; i++) if (seen.get(`a${i}`) !== 1) wrong.push(`a${i}:${seen.get(`a${i}`) ?? 0}`);
  t.deepEqual(wrong, [], 'every item there throughout, exactly once');
});
