/**
 * The engine lock: one mutex over the whole shared engine, for threads that each
 * hold a Cache over the same SharedArrayBuffers.
 *
 * A futex-style mutex on one Int32 (0 free, 1 held, 2 held with waiters): take it
 * with a compare-exchange, spin a little while it is held, then sleep in
 * Atomics.wait; the holder calls Atomics.notify on release only when someone may be
 * sleeping. It is re-entrant per thread: the depth is a plain field of this thread's
 * handle, so a command that runs a background slice while holding the lock goes on.
 * Atomics on the lock word order every plain read and write of the shared engine
 * state made under it.
 * Node lets every thread, the main one included, sleep in Atomics.wait; holders keep
 * the lock for one call or one background slice, so nobody sleeps long.
 */

/** Int32 slots of the lock's shared array. */
const STATE = 0;
/** Acquisitions and contended acquisitions, as two u32 halves each (low, high). */
const ACQ_LO = 1;
const CONT_LO = 3;
export const ENGINE_LOCK_WORDS = 5;

const FREE = 0;
const HELD = 1;
const WAITERS = 2;
/** Compare-exchange attempts before sleeping. */
const SPINS = 100;

export class EngineLock {
  /** Nesting depth of this thread's holds (0: this thread does not hold it). */
  private depth = 0;

  constructor(private readonly word: Int32Array) {}

  /** A lock over fresh shared memory (one per engine). */
  static create(): EngineLock {
    return new EngineLock(new Int32Array(new SharedArrayBuffer(ENGINE_LOCK_WORDS * 4)));
  }

  /** The shared array, to hand to another thread's EngineLock. */
  get buffer(): Int32Array {
    return this.word;
  }

  /** True while this thread holds the lock. */
  get held(): boolean {
    return this.depth > 0;
  }

  enter(): void {
    if (this.depth > 0) {
      this.depth++;
      return;
    }
    const w = this.word;
    if (Atomics.compareExchange(w, STATE, FREE, HELD) !== FREE) this.contend();
    this.depth = 1;
    // counted by the holder: plain adds are ordered by the lock itself
    this.count(ACQ_LO);
  }

  exit(): void {
    if (this.depth === 0) throw new Error('engine lock released by a thread that does not hold it');
    if (--this.depth > 0) return;
    const w = this.word;
    if (Atomics.exchange(w, STATE, FREE) === WAITERS) Atomics.notify(w, STATE, 1);
  }

  /** Acquisitions by every thread. */
  get acquisitions(): number {
    return this.read(ACQ_LO);
  }

  /** Acquisitions that found the lock held and had to spin or wait. */
  get contended(): number {
    return this.read(CONT_LO);
  }

  private contend(): void {
    const w = this.word;
    for (let i = 0; i < SPINS; i++) {
      if (Atomics.load(w, STATE) === FREE && Atomics.compareExchange(w, STATE, FREE, HELD) === FREE) {
        this.count(CONT_LO);
        return;
      }
    }
    // mark "held with waiters" and sleep until the holder's notify; whoever takes it
    // from here takes it as WAITERS, since others may still sleep
    while (Atomics.exchange(w, STATE, WAITERS) !== FREE) {
      Atomics.wait(w, STATE, WAITERS);
    }
    this.count(CONT_LO);
  }

  private count(lo: number): void {
    const w = this.word;
    const v = (w[lo] >>> 0) + 1;
    if (v === 4294967296) {
      w[lo] = 0;
      w[lo + 1] = (w[lo + 1] + 1) | 0;
    } else {
      w[lo] = v | 0;
    }
  }

  private read(lo: number): number {
    const w = this.word;
    return (Atomics.load(w, lo + 1) >>> 0) * 4294967296 + (Atomics.load(w, lo) >>> 0);
  }
}
