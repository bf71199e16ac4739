/**
 * The process clock, in whole seconds, as memcached keeps it: `now` is rel_time
 * (seconds since `processStarted`), ticked once a second rather than read per
 * request. Tests drive a ManualClock instead of waiting.
 */

/** memcached's REALTIME_MAXDELTA: exptimes up to 30 days are relative. */
export const REALTIME_MAXDELTA = 60 * 60 * 24 * 30;
/** Start rel_time above zero so that exptime 1 ("already expired") is in the past. */
const CLOCK_START = 2;

export interface Clock {
  /** rel_time: seconds since processStarted */
  now: number;
  /** Unix seconds at rel_time 0 */
  readonly processStarted: number;
  /**
   * Moves the clock's state into `cell` ([now, processStarted], shared memory), so
   * that engines attached from other threads read the time this clock keeps.
   */
  share?(cell: Float64Array): void;
}

/** Slots of a shared clock cell. */
const C_NOW = 0;
const C_STARTED = 1;
export const CLOCK_CELL_SLOTS = 2;

/**
 * Keeps now and processStarted in a Float64Array: the clock's own until share()
 * hands it a cell in the engine's shared memory.
 */
abstract class CellClock {
  protected cell: Float64Array = new Float64Array(CLOCK_CELL_SLOTS);
  get now(): number {
    return this.cell[C_NOW];
  }
  set now(v: number) {
    this.cell[C_NOW] = v;
  }
  get processStarted(): number {
    return this.cell[C_STARTED];
  }
  set processStarted(v: number) {
    this.cell[C_STARTED] = v;
  }
  share(cell: Float64Array): void {
    cell.set(this.cell);
    this.cell = cell;
  }
}

/** An attached engine's clock: reads the time the owning thread's clock writes. */
export class SharedClock extends CellClock implements Clock {
  constructor(cell: Float64Array) {
    super();
    this.cell = cell;
  }
}

/** Converts a wire exptime to rel_time, exactly as memcached's realtime(). */
export function realtime(clock: Clock, exptime: number): number {
  if (exptime === 0) return 0;
  if (exptime < 0) return 1; // negative: already expired
  if (exptime > REALTIME_MAXDELTA) {
    if (exptime <= clock.processStarted) return 1;
    return exptime - clock.processStarted;
  }
  return exptime + clock.now;
}

/**
 * A clock a warm restart can carry on: resume() takes the saved process start, so
 * rel_time keeps counting through the downtime (memcached keeps process_started
 * across a restart), and every stored rel_time keeps meaning the same wall time.
 */
export interface ResumableClock extends Clock {
  /** Carries on from a saved processStarted; rel_time never goes below `notBefore`. */
  resume(processStarted: number, notBefore: number): void;
}

/** The processStarted that resumes a clock: the saved one, unless the wall clock went back. */
function resumedStart(processStarted: number, notBefore: number, unixNow: number): number {
  return Math.min(processStarted, unixNow - notBefore);
}

export class SystemClock extends CellClock implements ResumableClock {
  private timer: NodeJS.Timeout | null = null;

  constructor() {
    super();
    this.now = CLOCK_START;
    this.processStarted = Math.floor(Date.now() / 1000) - CLOCK_START;
  }

  /** Ticks once a second; unref'd so it never keeps the process alive. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  tick(): void {
    this.now = Math.floor(Date.now() / 1000) - this.processStarted;
  }

  resume(processStarted: number, notBefore: number): void {
    this.processStarted = resumedStart(processStarted, notBefore, Math.floor(Date.now() / 1000));
    this.tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

export class ManualClock extends CellClock implements ResumableClock {
  constructor(processStarted = 1_700_000_000) {
    super();
    this.now = CLOCK_START;
    this.processStarted = processStarted;
  }
  /** Keeps its own notion of wall time: processStarted + now. */
  resume(processStarted: number, notBefore: number): void {
    const wall = this.processStarted + this.now;
    this.processStarted = resumedStart(processStarted, notBefore, wall);
    this.now = wall - this.processStarted;
  }
  advance(seconds: number): void {
    this.now += seconds;
  }
}
