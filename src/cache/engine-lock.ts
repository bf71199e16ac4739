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
/**
 * How many times the engine has grown (engine-growth.ts), beside the lock word: an
 * entering thread has that cache line already, so checking it costs one compare.
 */
const GROWTH = 1;
/**
 * Acquisitions and contended acquisitions, as two u32 halves each (low, high), 64
 * bytes past the lock word: on a cache line of their own, the holder's counting does
 * not disturb the threads spinning on the lock word.
 */
const ACQ_LO = 16;
const CONT_LO = 18;
export const ENGINE_LOCK_WORDS = 20;

const FREE = 0;
const HELD = 1;
const WAITERS = 2;
/** Compare-exchange attempts before sleeping. */
const SPINS = 100;

export class EngineLock {
  /** Nesting depth of this thread's holds (0: this thread does not hold it). */
  private depth = 0;
  /** The growth count this thread's engine has taken in. */
  private seen = 0;
  /**
   * Called on entry, the lock held, when the engine grew since this thread's last
   * entry: the engine takes in the new memory before the caller can meet it.
   */
  onGrowth: (() => void) | null = null;
  /**
   * True while no other thread can know of the lock (the creating engine before its
   * `shared` is first handed out): taking and releasing it is then a plain store,
   * which the compiler inlines, where an Atomics call is a builtin call on every
   * request of a single-threaded daemon. share() ends it for good; the buffers reach
   * another thread only after that, through postMessage, which orders the plain
   * stores made before it.
   */
  private solo = false;

  constructor(private readonly word: Int32Array) {}

  /** A lock over fresh shared memory (one per engine). */
  static create(): EngineLock {
    return new EngineLock(new Int32Array(new SharedArrayBuffer(ENGINE_LOCK_WORDS * 4)));
  }

  /** No other thread knows this lock yet: it may use plain stores until share(). */
  alone(): void {
    this.solo = true;
  }

  /** Another thread is about to get this lock: from here on it uses atomics. */
  share(): void {
    this.solo = false;
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
    if (this.solo) w[STATE] = HELD;
    else if (Atomics.compareExchange(w, STATE, FREE, HELD) !== FREE) this.contend();
    this.depth = 1;
    // counted by the holder: plain adds are ordered by the lock itself
    this.count(ACQ_LO);
    if (w[GROWTH] !== this.seen) this.catchUp();
  }

  /** The engine's growth count (read it holding the lock). */
  get growth(): number {
    return this.word[GROWTH];
  }

  /** This thread's engine has taken in every growth up to `n` (attach, or catching up). */
  caughtUp(n: number): void {
    this.seen = n;
  }

  /** The holder grew the engine: every other thread catches up on its next entry. */
  grew(): void {
    this.seen = ++this.word[GROWTH];
  }

  private catchUp(): void {
    if (this.onGrowth === null) {
      this.seen = this.word[GROWTH];
      return;
    }
    try {
      this.onGrowth();
    } catch (e) {
      // a thread that cannot see the new memory must not run in the engine, nor block the others
      this.depth = 1;
      this.exit();
      throw e;
    }
  }

  /**
   * fn() with the lock held: for background slices and other calls off the request
   * path (the closure is an allocation the request path does not make).
   */
  run<T>(fn: () => T): T {
    this.enter();
    try {
      return fn();
    } finally {
      this.exit();
    }
  }

  exit(): void {
    if (this.depth === 0) throw new Error('engine lock released by a thread that does not hold it');
    if (--this.depth > 0) return;
    const w = this.word;
    if (this.solo) w[STATE] = FREE;
    else if (Atomics.exchange(w, STATE, FREE) === WAITERS) Atomics.notify(w, STATE, 1);
  }

  /**
   * True while another thread sleeps waiting for the lock: a holder working through
   * a batch of requests ends its turn at the next request so that thread goes on.
   * A hint, read holding the lock; spinners do not show, and need not.
   */
  get wanted(): boolean {
    return !this.solo && Atomics.load(this.word, STATE) === WAITERS;
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
