import test from 'ava';
import { EngineLock } from '../src/cache/engine-lock.js';
import { releaseToSleeper, run } from './helpers/lock-waiter.js';

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

test('a thread that finds the lock held waits, and counts as contended', async (t) => {
  const lock = EngineLock.create();
  lock.enter();
  const counter = await releaseToSleeper(lock, (c) => t.is(c[0], 0, 'kept out while the lock is held'));
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
  const counter = await releaseToSleeper(lock, (c) => t.is(c[0], 0, 'kept out while the lock is held'));
  t.is(counter[0], 1);
  t.is(lock.contended, 1);
});

test('wanted: only while another thread sleeps waiting for the lock', async (t) => {
  const lock = EngineLock.create();
  lock.alone();
  lock.enter();
  t.false(lock.wanted, 'held by a thread no other knows');
  lock.share();
  t.false(lock.wanted, 'held, nobody waiting');
  await releaseToSleeper(lock, () => t.true(lock.wanted));
  t.false(lock.wanted, 'the waiter took it and let go');
});
