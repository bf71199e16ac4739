/** What growth-worker.ts is asked to do and answers, and the values its grower stores. */
import type { SharedEngine } from '../../src/cache/engine.js';
import { selfCheckingValue } from './self-check.js';

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

/** The grower's value for key i: 10 to 30 KB, so that several classes fill. */
export function growthValue(i: number): { key: Buffer; value: Buffer } {
  const key = Buffer.from(`g${i}`, 'latin1');
  return { key, value: selfCheckingValue(key, 1, 10_000 + ((i * 7919) % 20_000)) };
}

