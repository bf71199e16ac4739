/**
 * Small helpers shared by the `stats` reports: counter lookups by name, and
 * number formats as memcached's printf()s write them.
 */

export type Pairs = Array<[string, string]>;

/**
 * A numeric field of a counters object by its memcached name, or `dflt` when the
 * object has no such field: lets server/ add counters (e.g. read_buf_count) to
 * ServerCounters later and have them reported without touching this code.
 */
export function num(obj: object, name: string, dflt = 0): number {
  const v = (obj as Record<string, unknown>)[name];
  return typeof v === 'number' ? v : dflt;
}

/** Sum of a per-class counter array (memcached's slab_stats_aggregate). */
export function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

/** %llu of a counter kept in a double. */
export function u(n: number): string {
  return String(Math.max(0, Math.floor(n)));
}

/** printf("%.Nf"). */
export function fixed(x: number, digits: number): string {
  return x.toFixed(digits);
}

export function yesNo(b: boolean): string {
  return b ? 'yes' : 'no';
}

/** Microseconds as getrusage() is printed by memcached: "%ld.%06ld". */
export function rusage(micros: number): string {
  const s = Math.floor(micros / 1e6);
  const us = Math.floor(micros - s * 1e6);
  return `${s}.${String(us).padStart(6, '0')}`;
}
