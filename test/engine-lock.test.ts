import test from 'ava';
import { Worker } from 'node:worker_threads';
import { EngineLock } from '../src/cache/engine-lock.js';

const workerUrl = new URL('./helpers/lock-worker.js', import.meta.url);

function run(data: object): Promise<{ held: boolean }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerUrl, { workerData: data });
    let reply: { held: boolean } | null = null;
    w.once('message', (m: { held: boolean }) => { reply = m; });
    w.once('error', reject);
    w.once('exit', (code) => (reply !== null ? resolve(reply) : reject(new Error(`worker exited with ${code} before its reply`))));
  });
}

test('4 threads x 10,000 increments of a plain counter under the lock end at 40,000', async (t) => {
  const lock = EngineLock.create();
  const counter = new Int32Array(new SharedArrayBuffer(8));
  const replies = await Promise.all([0, 1, 2, 3].map(() => run({ lock: lock.buffer, counter, rounds: 10_000 })));
  t.is(counter[0], 40_000);
  t.deepEqual(replies.map((r) => r.held), [false, false, false, false]);
  // nested holds are not acquisitions: one per outer enter
  t.is(lock.acquisitions, 40_000);
  t.true(lock.contended <= 40_000);
});

test('the lock is re-entrant within a thread and counts outer acquisitions only', (t) => {
  const lock = EngineLock.create();
  lock.enter();
  lock.enter();
  t.true(lock.held);
  lock.exit();
  t.true(lock.held);
  lock.exit();
  t.false(lock.held);
  t.is(lock.acquisitions, 1);
  t.is(lock.contended, 0);
  t.throws(() => lock.exit(), { message: /does not hold/ });
});

/** Until a worker has given up spinning and marked the lock word "held with waiters" (2). */
async function untilSleeping(lock: EngineLock): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Atomics.load(lock.buffer, 0) !== 2) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the worker to sleep on the held lock');
    await new Promise((r) => setImmediate(r));
  }
}

test('a thread that finds the lock held waits, and counts as contended', async (t) => {
  const lock = EngineLock.create();
  const counter = new Int32Array(new SharedArrayBuffer(8));
  lock.enter();
  const done = run({ lock: lock.buffer, counter, rounds: 1 });
  await untilSleeping(lock);
  t.is(counter[0], 0);
  lock.exit();
  await done;
  t.is(counter[0], 1);
  t.is(lock.acquisitions, 2);
  t.is(lock.contended, 1);
});

test('a lock held alone and then shared wakes the thread that waits on it', async (t) => {
  const lock = EngineLock.create();
  lock.alone();
  lock.enter();
  lock.exit();
  t.is(lock.buffer[0], 0);
  // held across share(), as the engine's `shared` does: the release must wake a sleeper
  lock.enter();
  lock.share();
  const counter = new Int32Array(new SharedArrayBuffer(8));
  const done = run({ lock: lock.buffer, counter, rounds: 1 });
  await untilSleeping(lock);
  t.is(counter[0], 0);
  lock.exit();
  await done;
  t.is(counter[0], 1);
  t.is(lock.contended, 1);
});
