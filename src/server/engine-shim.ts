/**
 * TEMPORARY SHIM, to be removed once the engine can be shared (Cache.attach,
 * cache.shared, cache.lock). Until then each worker thread builds a private Cache
 * from the same options, so the thread plumbing can be built and tested; nothing
 * is shared between threads' caches. Every use of this file goes when it goes.
 */
import { Cache, type EngineOptions } from '../cache/engine.js';
import type { Clock } from '../cache/clock.js';

/** The engine lock as the server uses it (src/cache/engine-lock.ts's EngineLock). */
export interface EngineLockLike {
  enter(): void;
  exit(): void;
  readonly acquisitions: number;
  readonly contended: number;
}

/** What a worker gets to attach: here only the options to build its own Cache from. */
export type SharedEngineLike = Omit<EngineOptions, 'clock'>;

const optionsOf = new WeakMap<Cache, SharedEngineLike>();

/** A lock that never waits: one thread per engine. */
class NoLock implements EngineLockLike {
  acquisitions = 0;
  contended = 0;
  enter(): void {
    this.acquisitions++;
  }
  exit(): void {}
}
const locks = new WeakMap<Cache, NoLock>();

export function newCache(opts: EngineOptions): Cache {
  const c = new Cache(opts);
  const { clock: _clock, ...rest } = opts;
  optionsOf.set(c, rest);
  return c;
}

export function sharedOf(cache: Cache): SharedEngineLike {
  return optionsOf.get(cache)!;
}

export function attachCache(shared: SharedEngineLike, clock: Clock): Cache {
  return newCache({ ...shared, clock });
}

export function lockOf(cache: Cache): EngineLockLike {
  let l = locks.get(cache);
  if (l === undefined) locks.set(cache, (l = new NoLock()));
  return l;
}
