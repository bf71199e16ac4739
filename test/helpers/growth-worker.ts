/**
 * A worker thread attached to a test's engine while it grows (cache_memlimit past
 * -m): the grower raises the limit and stores values tagged with their keys, counting them
 * in `ctl`; readers read one stored at random per value stored, each call under the
 * engine lock, and then every one once more.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Cache, NIL } from '../../src/cache/engine.js';
import { NREAD_SET, STORED } from '../../src/cache/status.js';
import { DONE, growthValue, STORED_COUNT, wrongValue, type GrowthJob, type GrowthTally } from './growth-job.js';

const job = workerData as GrowthJob;
const cache = Cache.attach(job.shared);
const lock = cache.lock;
const ctl = job.ctl;
const tally: GrowthTally = { stored: 0, reads: 0, errors: [], maxPages: 0, evictions: 0 };
const out = Buffer.alloc(64 * 1024);

function check(i: number): void {
  const { key } = growthValue(i);
  lock.enter();
  const h = cache.get(key, 0, key.length);
  const len = h === NIL ? -1 : cache.copyValue(h, out, 0);
  lock.exit();
  tally.reads++;
  const wrong = wrongValue(i, len < 0 ? null : out.subarray(0, len));
  if (wrong !== null && tally.errors.length < 10) tally.errors.push(`${key.toString('latin1')}: ${wrong}`);
}

function grow(): void {
  lock.enter();
  cache.setMemLimit(job.limitBytes!);
  lock.exit();
  for (let i = 0; i < job.values!; i++) {
    const { key, value } = growthValue(i);
    lock.enter();
    const st = cache.set(NREAD_SET, key, 0, key.length, 0, 0, value, 0, value.length);
    if (st === STORED) Atomics.store(ctl, STORED_COUNT, i + 1);
    lock.exit();
    Atomics.notify(ctl, STORED_COUNT);
    if (st !== STORED) {
      tally.errors.push(`set ${key.toString('latin1')} answered ${st}`);
      break;
    }
    tally.stored++;
  }
  Atomics.store(ctl, DONE, 1);
  Atomics.notify(ctl, STORED_COUNT);
}

function read(): void {
  let seed = job.id * 7919 + 1;
  let last = 0;
  while (Atomics.load(ctl, DONE) === 0) {
    // one read per value stored, so that the readers do not starve the grower; the
    // timeout only bounds the wait should the last notify come before it
    Atomics.wait(ctl, STORED_COUNT, last, 100);
    lock.enter();
    const n = ctl[STORED_COUNT];
    lock.exit();
    if (n === last) continue;
    last = n;
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    check((seed >>> 8) % n);
  }
  lock.enter();
  const n = ctl[STORED_COUNT];
  lock.exit();
  for (let i = 0; i < n; i++) check(i);
}

parentPort!.postMessage('attached');
if (job.role === 'grower') grow();
else read();
lock.enter();
tally.maxPages = cache.mem.maxPages;
tally.evictions = cache.counters.evictions;
lock.exit();
parentPort!.postMessage(tally);
