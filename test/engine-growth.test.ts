/**
 * cache_memlimit past -m with several threads on one engine: the thread that
 * raises the limit adds arenas, and every other thread attached to the engine
 * takes them in on its next entry to the lock, so that values stored in the new
 * pages read back whole everywhere, while it happens and after.
 */
import test from 'ava';
import { Worker } from 'node:worker_threads';
import { Cache, NIL } from '../src/cache/engine.js';
import { handlePage } from '../src/cache/memory.js';
import { makeCache, MB, valueOf } from './cache-fixture.js';
import { DONE, growthValue, STORED_COUNT, wrongValue, type GrowthJob, type GrowthTally } from './helpers/growth-job.js';

const workerUrl = new URL('./helpers/growth-worker.js', import.meta.url);

/** Starts a worker on `job`; resolves `attached` once it has attached, `done` with its tally. */
function start(job: GrowthJob): { attached: Promise<void>; done: Promise<GrowthTally> } {
  const w = new Worker(workerUrl, { workerData: job });
  let attached!: () => void;
  const a = new Promise<void>((r) => { attached = r; });
  const done = new Promise<GrowthTally>((resolve, reject) => {
    let tally: GrowthTally | null = null;
    w.on('message', (m: 'attached' | GrowthTally) => {
      if (m === 'attached') attached();
      else tally = m;
    });
    w.once('error', reject);
    w.once('exit', (code) => (tally !== null ? resolve(tally) : reject(new Error(`worker exited with ${code} before its tally`))));
  });
  return { attached: a, done };
}

test('one thread raises cache_memlimit past -m and fills the cache: the others read its values whole', async (t) => {
  const { cache } = makeCache({ maxbytes: 8 * MB, sharedMemory: true });
  const startPages = cache.mem.maxPages;
  const shared = cache.shared;
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  // readers first, so that they are attached, and reading, when the engine grows
  const readers = [1, 2].map((id) => start({ shared, role: 'reader', id, ctl }));
  await Promise.all(readers.map((r) => r.attached));
  const values = 4_000; // about 80 MB
  const grower = start({ shared, role: 'grower', id: 0, ctl, limitBytes: 100 * MB, values });
  const [g, ...rs] = await Promise.all([grower.done, ...readers.map((r) => r.done)]);
  t.deepEqual([g, ...rs].flatMap((x) => x.errors), []);
  t.is(g.stored, values);
  t.is(g.evictions, 0, 'nothing evicted below the new limit');
  t.true(g.maxPages >= 100, `the grower has views of ${g.maxPages} pages, past the ${startPages} made at start`);
  for (const r of rs) {
    t.is(r.maxPages, g.maxPages, 'a reader took in every new arena');
    t.true(r.reads > values, `a reader read ${r.reads} values`);
  }
  t.is(Atomics.load(ctl, DONE), 1);
  t.is(ctl[STORED_COUNT], values);
  // and this thread, which only made the engine, reads them all too
  cache.lock.enter();
  try {
    t.is(cache.mem.maxPages, g.maxPages);
    t.is(cache.counters.curr_items, values);
    let beyond = 0;
    for (let i = 0; i < values; i++) {
      const { key } = growthValue(i);
      const h = cache.get(key, 0, key.length);
      if (h === NIL) {
        t.fail(`${key.toString('latin1')} missing here`);
        return;
      }
      const wrong = wrongValue(i, valueOf(cache, h));
      if (wrong !== null) t.fail(`${key.toString('latin1')}: ${wrong}`);
      if (handlePage(h) > startPages) beyond++;
    }
    t.true(beyond > 100, `${beyond} values live in pages past the start's ${startPages}`);
  } finally {
    cache.lock.exit();
  }
});

test('an engine attached after a growth sees the new pages; one attached from a SharedEngine taken before is refused', (t) => {
  const { cache } = makeCache({ maxbytes: 8 * MB, sharedMemory: true });
  const before = structuredClone(cache.shared);
  cache.lock.enter();
  cache.setMemLimit(200 * MB);
  cache.lock.exit();
  const after = Cache.attach(structuredClone(cache.shared));
  t.is(after.mem.maxPages, cache.mem.maxPages);
  t.true(after.mem.maxPages >= 200);
  t.throws(() => Cache.attach(before), { message: /no buffer arena|stale/ });
  // lowering adds nothing and takes nothing away
  cache.lock.enter();
  cache.setMemLimit(8 * MB);
  cache.lock.exit();
  t.is(cache.mem.limitPages, 8);
  t.is(cache.mem.maxPages, after.mem.maxPages);
});
