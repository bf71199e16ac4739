/**
 * Another thread on the engine lock, for tests: run() starts a worker
 * (lock-worker.ts) that takes the lock `rounds` times; untilSleeping() waits until a
 * worker has given up spinning on a held lock and sleeps in Atomics.wait;
 * releaseToSleeper() puts the two together.
 */
import { Worker } from 'node:worker_threads';
import type { EngineLock } from '../../src/cache/engine-lock.js';
import { until } from './daemon-poll.js';

const workerUrl = new URL('./lock-worker.js', import.meta.url);

/** A worker taking the lock `data.rounds` times; resolves with its last report once it exits. */
export function run(data: { lock: Int32Array; counter: Int32Array; rounds: number }): Promise<{ held: boolean }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerUrl, { workerData: data });
    let reply: { held: boolean } | null = null;
    w.once('message', (m: { held: boolean }) => { reply = m; });
    w.once('error', reject);
    w.once('exit', (code) => (reply !== null ? resolve(reply) : reject(new Error(`worker exited with ${code} before its reply`))));
  });
}

/** Until a worker has given up spinning and marked the lock word "held with waiters" (2). */
export function untilSleeping(lock: EngineLock): Promise<void> {
  return until(() => Atomics.load(lock.buffer, 0) === 2, 'the worker to sleep on the held lock', 10_000);
}

/**
 * For a lock this thread holds: starts a worker that takes it once, waits until the
 * worker sleeps on it, runs whileSleeping(counter), then releases the lock (also when
 * whileSleeping throws) and resolves once the worker got in and left. The worker
 * raises counter[0] to 1 while it holds the lock.
 */
export async function releaseToSleeper(lock: EngineLock, whileSleeping: (counter: Int32Array) => void): Promise<Int32Array> {
  const counter = new Int32Array(new SharedArrayBuffer(8));
  let done: Promise<unknown>;
  try {
    done = run({ lock: lock.buffer, counter, rounds: 1 });
    await untilSleeping(lock);
    whileSleeping(counter);
  } finally {
    lock.exit();
  }
  await done;
  return counter;
}
