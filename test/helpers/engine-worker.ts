/**
 * A worker thread attached to a test's engine (Cache.attach): runs one job against
 * the shared cache, each engine call under the engine lock, and posts its tally.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Cache, NIL, type SharedEngine } from '../../src/cache/engine.js';
import { ArithResult } from '../../src/cache/arith.js';
import { EXISTS, NREAD_CAS, NREAD_SET, OK, STORED } from '../../src/cache/status.js';
import { checkValue, selfCheckingValue } from './self-check.js';

export interface EngineJob {
  shared: SharedEngine;
  kind: 'incr' | 'cas' | 'selfcheck';
  id: number;
  rounds: number;
  /** selfcheck: keys each worker owns, and how many workers there are */
  keys?: number;
  workers?: number;
  /** selfcheck: one value in five is from 1 to this long, the rest about 100 bytes */
  maxLen?: number;
  /** selfcheck: operations done by all workers, counted under the lock */
  progress?: Int32Array;
}

export interface EngineTally {
  ok: number;
  retries: number;
  hits: number;
  misses: number;
  errors: string[];
  /** what this thread's engine reads, when done: the clock, a tunable, the CAS counter */
  now?: number;
  hotLruPct?: number;
  casId?: number;
}

const job = workerData as EngineJob;
const cache = Cache.attach(job.shared);
const lock = cache.lock;
const tally: EngineTally = { ok: 0, retries: 0, hits: 0, misses: 0, errors: [] };
const counterKey = Buffer.from('counter');

function incr(): void {
  const res = new ArithResult();
  for (let i = 0; i < job.rounds; i++) {
    lock.enter();
    const st = cache.arith(counterKey, 0, counterKey.length, true, 1, res);
    lock.exit();
    if (st === OK) tally.ok++;
  }
}

/** Increments by gets + cas, the lock taken per call only, so that other threads race in between. */
function casLoop(): void {
  const out = Buffer.alloc(32);
  for (let i = 0; i < job.rounds; i++) {
    for (;;) {
      lock.enter();
      const h = cache.get(counterKey, 0, counterKey.length);
      let n = -1;
      let cas = 0;
      if (h !== NIL) {
        n = Number(out.toString('latin1', 0, cache.copyValue(h, out, 0)));
        cas = cache.cas(h);
      }
      lock.exit();
      if (n < 0) {
        tally.errors.push('the counter went missing');
        return;
      }
      const next = Buffer.from(String(n + 1), 'latin1');
      lock.enter();
      const st = cache.set(NREAD_CAS, counterKey, 0, counterKey.length, 0, 0, next, 0, next.length, cas);
      lock.exit();
      if (st === STORED) break;
      if (st !== EXISTS) {
        tally.errors.push(`cas answered ${st}`);
        return;
      }
      tally.retries++;
    }
    tally.ok++;
  }
}

/**
 * Writes its own keys with rising versions and reads everyone's: a value read must
 * be whole and its own key's, an own key's must be the last version acknowledged,
 * and nobody's version may go back.
 */
function selfCheck(): void {
  const keys = job.keys!;
  const workers = job.workers!;
  const acked = new Float64Array(keys);
  const version = new Float64Array(keys);
  const seen = new Float64Array(keys * workers);
  const out = Buffer.alloc(job.maxLen! + 200);
  let seed = job.id * 7919 + 1;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const progress = job.progress!;
  for (let i = 0; i < job.rounds; i++) {
    if (rand(2) === 0) {
      const k = rand(keys);
      const key = Buffer.from(`w${job.id}:${k}`, 'latin1');
      const v = ++version[k];
      // most values in one class, so that it holds several pages to move
      const value = selfCheckingValue(key, v, rand(5) === 0 ? 1 + rand(job.maxLen!) : 100);
      lock.enter();
      const st = cache.set(NREAD_SET, key, 0, key.length, 0, 0, value, 0, value.length);
      progress[0]++;
      lock.exit();
      if (st === STORED) {
        acked[k] = v;
        tally.ok++;
      }
    } else {
      const w = rand(workers);
      const k = rand(keys);
      const key = Buffer.from(`w${w}:${k}`, 'latin1');
      lock.enter();
      const h = cache.get(key, 0, key.length);
      const len = h === NIL ? -1 : cache.copyValue(h, out, 0);
      progress[0]++;
      lock.exit();
      if (len < 0) {
        tally.misses++;
        continue;
      }
      tally.hits++;
      const got = checkValue(key, out.subarray(0, len));
      if (typeof got === 'string') {
        if (tally.errors.length < 10) tally.errors.push(`${key.toString('latin1')}: ${got}`);
        continue;
      }
      const slot = w * keys + k;
      if (got < seen[slot] && tally.errors.length < 10) {
        tally.errors.push(`${key.toString('latin1')}: version ${got} after ${seen[slot]}`);
      }
      seen[slot] = Math.max(seen[slot], got);
      if (w === job.id && got !== acked[k] && tally.errors.length < 10) {
        tally.errors.push(`${key.toString('latin1')}: version ${got}, last acknowledged ${acked[k]}`);
      }
    }
  }
}

if (job.kind === 'incr') incr();
else if (job.kind === 'cas') casLoop();
else selfCheck();
lock.enter();
tally.now = cache.clock.now;
tally.hotLruPct = cache.opts.hotLruPct;
tally.casId = cache.casId;
lock.exit();
parentPort!.postMessage(tally);
