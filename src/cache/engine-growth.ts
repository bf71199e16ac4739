/**
 * Growing the engine after start: a cache_memlimit above the memory the arenas
 * were sized for adds arenas and bigger page and hash tables, and every other
 * thread attached to the engine takes them in before it can meet a page of them.
 *
 * Shared memory cannot be handed to another thread except by a message, so the
 * thread that grows posts the new buffers on the engine's BroadcastChannel (named
 * in SharedEngine, one per engine) and only then, still holding the engine lock,
 * counts the growth beside the lock word. Posting queues the message at every
 * other thread's end at once; a thread entering the lock compares the count with
 * its own (the one compare the request path pays) and, when behind, takes the
 * messages synchronously (receiveMessageOnPort), so no thread ever needs its event
 * loop to run to see the new pages. The buffers replaced stay alive as long as a
 * thread still holds them; nobody writes to them after the growth.
 */
import { BroadcastChannel, type MessagePort, receiveMessageOnPort, threadId } from 'node:worker_threads';
import { FORCED_PAGES, MAX_PAGE_ID, type Memory } from './memory.js';
import { POWER_SMALLEST, type Slabs } from './slabs.js';
import type { HashIndex } from './hash-index.js';
import type { SharedBlock, SharedBuffers } from './shared-block.js';
import type { EngineLock } from './engine-lock.js';

interface GrowthMessage {
  /** The growth count once these buffers are in. */
  growth: number;
  /** The buffers this growth added or replaced, by name. */
  buffers: SharedBuffers;
}

/** What growing touches: one engine's tables, as this thread sees them. */
export interface GrowableEngine {
  readonly mem: Memory;
  readonly slabs: Slabs;
  readonly index: HashIndex;
  readonly lock: EngineLock;
}

let made = 0;

/** A name for a new engine's channel, unique in the process (BroadcastChannel names are per process). */
export function growthChannelName(): string {
  return `slabcache.engine.${process.pid}.${threadId}.${++made}`;
}

export class EngineGrowth {
  /** Opened once another thread may attach: an engine nobody shares needs none. */
  private channel: BroadcastChannel | null = null;
  /** Messages the event loop delivered before this thread next entered the lock. */
  private readonly delivered: GrowthMessage[] = [];
  /** The growth count this thread's tables reflect. */
  private taken = 0;

  constructor(readonly name: string, private readonly engine: GrowableEngine, private readonly block: SharedBlock) {
    engine.lock.onGrowth = () => this.catchUp();
  }

  /**
   * Starts listening for other threads' growths (idempotent). Call it holding the
   * lock, or before any other thread exists: the tables are then current.
   */
  open(): void {
    if (this.channel !== null) return;
    this.taken = this.engine.lock.growth;
    this.engine.lock.caughtUp(this.taken);
    const ch = new BroadcastChannel(this.name);
    // a started channel hands messages to the event loop: keep those for catchUp()
    ch.onmessage = (e) => { this.delivered.push((e as unknown as { data: GrowthMessage }).data); };
    ch.unref();
    this.channel = ch;
  }

  /**
   * cache_memlimit raised the limit to `limitPages`: adds what pages up to it (and
   * the forced ones) need, up to what a handle can address. The caller holds the lock.
   */
  growFor(limitPages: number): void {
    const { mem, slabs, index, lock } = this.engine;
    const pages = Math.min(limitPages + FORCED_PAGES, MAX_PAGE_ID);
    if (pages <= mem.maxPages) return;
    const added: SharedBuffers = {};
    mem.grow(pages, added);
    slabs.grow(pages, added);
    index.grow(pages * slabs.perslab[POWER_SMALLEST], added);
    // posted before the count moves: whoever sees the new count finds the message queued
    this.channel?.postMessage({ growth: lock.growth + 1, buffers: added } satisfies GrowthMessage);
    lock.grew();
    this.taken = lock.growth;
  }

  /** Takes in every growth another thread made since this one last looked (the lock held). */
  private catchUp(): void {
    const lock = this.engine.lock;
    const target = lock.growth;
    const msgs = this.delivered.splice(0);
    // Node 20 and 24 take a BroadcastChannel here too, though the typings say MessagePort
    const port = this.channel as unknown as MessagePort | null;
    for (let r; port !== null && (r = receiveMessageOnPort(port)) !== undefined;) msgs.push(r.message as GrowthMessage);
    for (const m of msgs) {
      if (m.growth <= this.taken) continue;
      for (const name of Object.keys(m.buffers)) this.block.replace(name, m.buffers[name]);
      this.taken = m.growth;
    }
    if (this.taken < target) {
      throw new Error(`engine grew ${target} times, this thread saw ${this.taken}: attached from a SharedEngine taken before a growth`);
    }
    const { mem, slabs, index } = this.engine;
    mem.refresh();
    slabs.refresh();
    index.refresh();
    lock.caughtUp(target);
  }
}
