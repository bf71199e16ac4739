/**
 * One engine, several threads: worker threads attach to a Cache made here
 * (Cache.attach) and run engine calls under the engine lock, while this thread
 * moves pages, expands the hash table and flushes, as the daemon's main thread does.
 */
import test from 'ava';
import { Worker } from 'node:worker_threads';
import { Cache, NIL } from '../src/cache/engine.js';
import { PageMover, REASSIGN_OK } from '../src/cache/page-mover.js';
import { NREAD_SET } from '../src/cache/status.js';
import { getS, k, makeCache, MB, setS } from './cache-fixture.js';
import type { EngineJob, EngineTally } from './helpers/engine-worker.js';
import { daemon } from './server-fixture.js';

const workerUrl = new URL('./helpers/engine-worker.js', import.meta.url);

function run(job: EngineJob): Promise<EngineTally> {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerUrl, { workerData: job });
    let tally: EngineTally | null = null;
    w.once('message', (m: EngineTally) => { tally = m; });
    w.once('error', reject);
    w.once('exit', (code) => (tally !== null ? resolve(tally) : reject(new Error(`worker exited with ${code} before its tally`))));
  });
}

function runAll(cache: Cache, kind: EngineJob['kind'], rounds: number, extra: Partial<EngineJob> = {}): Promise<EngineTally[]> {
  return Promise.all([0, 1, 2, 3].map((id) => run({ shared: cache.shared, kind, id, rounds, workers: 4, ...extra })));
}

test('an attached engine sees what the creating thread stored, its clock and tunables, and the reverse', async (t) => {
  const { cache, clock } = makeCache({ sharedMemory: true });
  setS(cache, NREAD_SET, 'counter', '5');
  clock.advance(1000);
  cache.opts.hotLruPct = 37;
  const tally = await run({ shared: cache.shared, kind: 'incr', id: 0, rounds: 3 });
  t.is(tally.ok, 3);
  t.is(tally.now, clock.now, 'the attached clock reads the creating thread\'s time');
  t.is(tally.hotLruPct, 37, 'lru tune settings are shared');
  t.is(tally.casId, 4, 'one CAS counter: a set here, three incr there');
  t.is(cache.casId, 4);
  t.is(getS(cache, 'counter'), '8');
  t.is(cache.counters.incr_misses, 0);
  t.is(cache.classCounters.incr_hits.reduce((a, b) => a + b, 0), 3, 'per-class counters are shared');
});

/** The engine's item memory and its tables, as SharedArrayBuffers or not. */
function kinds(cache: Cache): { items: boolean; tables: boolean } {
  cache.lock.run(() => setS(cache, NREAD_SET, 'kinds', 'a page')); // plain arenas are made as pages are taken
  const block = (cache as unknown as { block: { buffers: Record<string, ArrayBufferLike> } }).block;
  const tables = Object.keys(block.buffers).filter((name) => !name.startsWith('arena.'));
  return {
    items: cache.mem.u8[1].buffer instanceof SharedArrayBuffer,
    tables: tables.length > 0 && tables.every((name) => block.buffers[name] instanceof SharedArrayBuffer),
  };
}

test('item memory is plain unless the engine is made with sharedMemory, and only a shared engine can be attached to', (t) => {
  const plain = makeCache().cache;
  t.deepEqual(kinds(plain), { items: false, tables: true });
  t.throws(() => plain.shared, { message: /without sharedMemory/ });
  const shared = makeCache({ sharedMemory: true }).cache;
  t.deepEqual(kinds(shared), { items: true, tables: true });
  t.true(Cache.attach(shared.shared).opts.sharedMemory);
});

test('the daemon shares its item memory at -t 4 and not at -t 1', async (t) => {
  for (const numThreads of [1, 4]) {
    const d = await daemon(t, { numThreads });
    t.is(kinds(d.cache).items, numThreads > 1, `-t ${numThreads}`);
    await d.close();
  }
});

test('attach needs the options the engine was made with: other sizes are refused, not misread', (t) => {
  const { cache } = makeCache({ sharedMemory: true });
  const shared = cache.shared;
  t.throws(() => Cache.attach({ ...shared, options: { ...shared.options, maxbytes: 128 * MB } }), { message: /attached with other options/ });
  t.throws(() => Cache.attach({ ...shared, options: { ...shared.options, growthFactor: 2 } }), { message: /attached with other options/ });
  // the same options: one more view of the same items
  setS(cache, NREAD_SET, 'x', 'y');
  t.is(getS(Cache.attach(structuredClone(shared)), 'x'), 'y');
});

test('4 threads x 10,000 incr of one key under the lock end at 40,000', async (t) => {
  const { cache } = makeCache({ sharedMemory: true });
  setS(cache, NREAD_SET, 'counter', '0');
  const tallies = await runAll(cache, 'incr', 10_000);
  t.deepEqual(tallies.map((x) => x.ok), [10_000, 10_000, 10_000, 10_000]);
  t.is(getS(cache, 'counter'), '40000');
  t.true(cache.lock.acquisitions >= 40_000);
  t.false(cache.lock.held);
});

test('CAS-loop increments from 4 threads lose nothing', async (t) => {
  const { cache } = makeCache({ sharedMemory: true });
  setS(cache, NREAD_SET, 'counter', '0');
  const tallies = await runAll(cache, 'cas', 2_500);
  t.deepEqual(tallies.flatMap((x) => x.errors), []);
  t.deepEqual(tallies.map((x) => x.ok), [2_500, 2_500, 2_500, 2_500]);
  t.is(getS(cache, 'counter'), '10000');
});

test('self-checking values stay whole and current through eviction, page moves, hash expansion and flush_all', async (t) => {
  // small memory in few classes, a small starting table: the workers' keys overflow both
  const { cache, clock } = makeCache({ maxbytes: 8 * MB, hashpowerInit: 10, growthFactor: 2, sharedMemory: true });
  const mover = new PageMover(cache, { slabReassign: true, slabAutomove: 0, slabAutomoveRatio: 0.8, slabAutomoveWindow: 30 },
    { relocated: () => undefined });
  const progress = new Int32Array(new SharedArrayBuffer(4));
  let done = false;
  let moves = 0;
  let flushes = 0;
  let nextMove = 20_000;
  let nextFlush = 50_000;
  // this thread's part, between the workers' calls: move pages once the cache is
  // full, flush twice along the way
  const background = (async () => {
    while (!done) {
      await new Promise((r) => setImmediate(r));
      cache.lock.enter();
      try {
        const ops = progress[0];
        if (ops >= nextMove && !mover.running) {
          nextMove = ops + 2_000;
          // the class with the most pages gives its oldest page to the next class up
          let src = 1;
          for (let c = 1; c <= cache.slabs.largest; c++) if (cache.slabs.totalPages[c] > cache.slabs.totalPages[src]) src = c;
          if (cache.slabs.totalPages[src] >= 2 && mover.reassign(src, src === 1 ? 2 : src - 1) === REASSIGN_OK) moves++;
        }
        if (ops >= nextFlush && flushes < 2) {
          nextFlush += 50_000;
          clock.advance(1);
          cache.flush(0);
          flushes++;
        }
      } finally {
        cache.lock.exit();
      }
    }
  })();
  const tallies = await runAll(cache, 'selfcheck', 40_000, { keys: 8_000, maxLen: 1_500, progress });
  done = true;
  await background;
  await mover.idle();
  t.deepEqual(tallies.flatMap((x) => x.errors), []);
  const hits = tallies.reduce((a, x) => a + x.hits, 0);
  t.log(`hits ${hits}, misses ${tallies.reduce((a, x) => a + x.misses, 0)}, evictions ${cache.counters.evictions}, pages moved ${cache.counters.slabs_moved} (${moves} asked), flushes ${flushes}, hashpower ${cache.index.hashpower}`);
  t.true(hits > 1_000, 'reads found values to check');
  t.true(cache.counters.evictions > 0, 'the cache evicted');
  t.true(cache.counters.slabs_moved > 0, 'pages moved');
  t.true(flushes > 0, 'flush_all ran');
  t.true(cache.index.hashpower > 10, 'the hash table expanded');
  // and this thread reads the same, whole values
  for (let w = 0; w < 4; w++) {
    for (let i = 0; i < 50; i++) {
      const key = k(`w${w}:${i}`);
      const h = cache.peek(key, 0, key.length);
      if (h !== NIL) t.true(cache.valueLength(h) > key.length);
    }
  }
});
