/**
 * A worker thread for the engine lock's tests: takes the lock `rounds` times and
 * increments a plain (non-atomic) shared counter under it, with a nested hold every
 * so often, so that a lost update or a broken re-entry shows in the total.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EngineLock } from '../../src/cache/engine-lock.js';

interface Job { lock: Int32Array; counter: Int32Array; rounds: number }

const job = workerData as Job;
const lock = new EngineLock(job.lock);
const c = job.counter;
for (let i = 0; i < job.rounds; i++) {
  lock.enter();
  const v = c[0];
  // widen the window between the read and the write
  for (let j = 0; j < 20; j++) c[1] = (c[1] + j) | 0;
  if ((i & 7) === 0) {
    lock.enter();
    c[0] = v + 1;
    lock.exit();
  } else {
    c[0] = v + 1;
  }
  lock.exit();
}
parentPort!.postMessage({ held: lock.held });
