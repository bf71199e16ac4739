/**
 * Run every test of a file once per worker-thread count: `-t 1` (requests served on the
 * main thread) and `-t 4` (four workers over one shared cache, memcached's default). A file
 * opts in by taking `test` from here instead of from ava; each test is registered twice,
 * its title ending in `(-t 1)` or `(-t 4)`, and startSlabcache/startMemcached add that `-t`
 * to servers the test starts without one of its own. Both sides of a differential test run
 * at the same -t, so even `stats settings` compares like with like.
 *
 *   import { test } from './helpers/thread-variants.js';
 *   test('...', async (t) => { const sc = await startSlabcache(t); ... });   // runs at -t 1 and -t 4
 */
import avaTest, { type ExecutionContext } from 'ava';

export const THREAD_VARIANTS = [1, 4] as const;

const threadsOf = new WeakMap<ExecutionContext, number>();

/** The -t this test runs at, when it was registered through `test` below. */
export function variantThreads(t: ExecutionContext): number | undefined {
  return threadsOf.get(t);
}

type Impl = (t: ExecutionContext) => unknown;

function eachThreadCount(register: (title: string, impl: Impl) => void): (title: string, impl: Impl) => void {
  return (title, impl) => {
    for (const n of THREAD_VARIANTS) {
      register(`${title} (-t ${n})`, (t) => {
        threadsOf.set(t, n);
        return impl(t);
      });
    }
  };
}

export const test = Object.assign(
  eachThreadCount((title, impl) => avaTest(title, impl)),
  { serial: eachThreadCount((title, impl) => avaTest.serial(title, impl)) },
);
