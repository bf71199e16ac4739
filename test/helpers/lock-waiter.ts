/**
 * Another thread on the engine lock, for tests: run() starts a worker
 * (lock-worker.ts) that takes the lock `rounds` times; untilSleeping() waits until a
 * worker has given up spinning on a held lock and sleeps in Atomics.wait.
 */
import { Worker } from 'node:worker_threads';
import type { EngineLock } from '../../src/cache/engine-lock.js';

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
export async function untilSleeping(lock: EngineLock): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Atomics.load(lock.buffer, 0) !== 2) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the worker to sleep on the held lock');
    await new Promise((r) => setImmediate(r));
  }
}
