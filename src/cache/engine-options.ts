/**
 * The engine's options as the engine reads them: fixed ones as given, and the
 * run-time tunables (`lru tune`, `lru mode`) in shared memory, so that a change
 * made through one thread's engine holds for every thread's.
 */
import type { Clock } from './clock.js';
import type { HashAlgorithm } from './hash-algorithms.js';
import type { EngineOptions } from './engine.js';
import type { SharedBlock } from './shared-block.js';

const T_HOT_PCT = 0;
const T_WARM_PCT = 1;
const T_SEGMENTED = 2;
const T_HOT_FACTOR = 3;
const T_WARM_FACTOR = 4;
const T_TAIL_REPAIR = 5;
const T_SLOTS = 6;

/** The options minus the clock: what another thread needs to attach. */
export type PlainEngineOptions = Omit<EngineOptions, 'clock'>;

/** A copy of the options without the clock (structured-clonable). */
export function plainOptions(o: EngineOptions): PlainEngineOptions {
  const { clock: _clock, ...rest } = o;
  return { ...rest, slabSizes: o.slabSizes ? [...o.slabSizes] : o.slabSizes };
}

export class SharedOptions implements EngineOptions {
  readonly maxbytes: number;
  readonly itemSizeMax: number;
  readonly growthFactor: number;
  readonly chunkSize: number;
  readonly slabChunkMax: number;
  readonly slabSizes: readonly number[] | null | undefined;
  readonly evictToFree: boolean;
  readonly useCas: boolean;
  readonly preallocate: boolean;
  readonly hashpowerInit: number;
  readonly hashExpand: boolean | undefined;
  readonly hashAlgorithm: HashAlgorithm | undefined;
  /** SharedArrayBuffers for other threads, or plain ArrayBuffers (shared-block.ts decides by it alone). */
  readonly sharedMemory: boolean;
  readonly clock: Clock;
  private readonly t: Float64Array;

  constructor(o: EngineOptions, block: SharedBlock) {
    this.maxbytes = o.maxbytes;
    this.itemSizeMax = o.itemSizeMax;
    this.growthFactor = o.growthFactor;
    this.chunkSize = o.chunkSize;
    this.slabChunkMax = o.slabChunkMax;
    this.slabSizes = o.slabSizes;
    this.evictToFree = o.evictToFree;
    this.useCas = o.useCas;
    this.preallocate = o.preallocate;
    this.hashpowerInit = o.hashpowerInit;
    this.hashExpand = o.hashExpand;
    this.hashAlgorithm = o.hashAlgorithm;
    this.sharedMemory = block.shared;
    this.clock = o.clock;
    this.t = block.f64('tunables', T_SLOTS);
    if (block.attached) return;
    this.hotLruPct = o.hotLruPct;
    this.warmLruPct = o.warmLruPct;
    this.lruSegmented = o.lruSegmented;
    this.hotMaxFactor = o.hotMaxFactor;
    this.warmMaxFactor = o.warmMaxFactor;
    this.tailRepairTime = o.tailRepairTime;
  }

  get hotLruPct(): number {
    return this.t[T_HOT_PCT];
  }
  set hotLruPct(v: number) {
    this.t[T_HOT_PCT] = v;
  }
  get warmLruPct(): number {
    return this.t[T_WARM_PCT];
  }
  set warmLruPct(v: number) {
    this.t[T_WARM_PCT] = v;
  }
  /** Unset means segmented, as in the options. */
  get lruSegmented(): boolean {
    return this.t[T_SEGMENTED] === 0;
  }
  set lruSegmented(v: boolean | undefined) {
    this.t[T_SEGMENTED] = v === false ? 1 : 0;
  }
  /** Unset (NaN in the slot) leaves the policy's default. */
  get hotMaxFactor(): number | undefined {
    const v = this.t[T_HOT_FACTOR];
    return v === v ? v : undefined;
  }
  set hotMaxFactor(v: number | undefined) {
    this.t[T_HOT_FACTOR] = v ?? NaN;
  }
  get warmMaxFactor(): number | undefined {
    const v = this.t[T_WARM_FACTOR];
    return v === v ? v : undefined;
  }
  set warmMaxFactor(v: number | undefined) {
    this.t[T_WARM_FACTOR] = v ?? NaN;
  }
  get tailRepairTime(): number {
    return this.t[T_TAIL_REPAIR];
  }
  set tailRepairTime(v: number | undefined) {
    this.t[T_TAIL_REPAIR] = v ?? 0;
  }
}
