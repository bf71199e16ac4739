/** What growth-worker.ts is asked to do and answers, and the values its grower stores. */
import type { SharedEngine } from '../../src/cache/engine.js';

export interface GrowthJob {
  shared: SharedEngine;
  role: 'grower' | 'reader';
  id: number;
  /** grower: the new limit, and how many values to store */
  limitBytes?: number;
  values?: number;
  /** [0] values stored (written under the lock), [1] 1 once the grower is done */
  ctl: Int32Array;
}

export interface GrowthTally {
  stored: number;
  reads: number;
  errors: string[];
  /** page ids this thread's engine has views of, at the end */
  maxPages: number;
  evictions: number;
}

export const STORED_COUNT = 0;
export const DONE = 1;

/**
 * The grower's value for key i: 10 to 30 KB, so that several classes fill, its key's
 * tag over and over, so that a torn or misplaced value differs (filled and compared
 * natively: cheap enough to check every value in every thread).
 */
export function growthValue(i: number): { key: Buffer; value: Buffer } {
  const key = Buffer.from(`g${i}`, 'latin1');
  return { key, value: Buffer.alloc(10_000 + ((i * 7919) % 20_000), `<${key.toString('latin1')}>`) };
}

/** What is wrong with `got` as key i's value, or null. */
export function wrongValue(i: number, got: Buffer | null): string | null {
  if (got === null) return 'missing';
  const { value } = growthValue(i);
  if (got.length !== value.length) return `${got.length} bytes, not ${value.length}`;
  return got.equals(value) ? null : `torn or another key's: ${JSON.stringify(got.subarray(0, 24).toString('latin1'))}`;
}
