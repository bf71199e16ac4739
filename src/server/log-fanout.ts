/**
 * `watch` over worker threads: every thread's LogHub joins one BroadcastChannel.
 * What each thread's watchers ask for is a word of the shared control block (one
 * per thread), so a hub knows whether anyone elsewhere watches without a message
 * per event; a change of those words is announced on the channel, and each round
 * of lines someone elsewhere wants goes there as one copied buffer. Event numbers
 * come from one Atomics counter, so "events after the watcher started" means the
 * same on every thread. Nothing here runs while nobody watches.
 */
import { BroadcastChannel } from 'node:worker_threads';
import type { LogFanout, LogHub } from '../log-stream/log-hub.js';
import { CTL_GID, CTL_WATCH, CTL_WATCHERS } from './front.js';

type Message = { kind: 'flags' } | { kind: 'lines'; data: Uint8Array };

export class LogChannel implements LogFanout {
  private readonly bc: BroadcastChannel;

  /** `me`: this thread's word among `threads` (workers 0..N-1, the main thread N). */
  constructor(hub: LogHub, private readonly ctl: Int32Array, name: string,
    private readonly me: number, private readonly threads: number) {
    this.bc = new BroadcastChannel(name);
    this.bc.unref();
    this.bc.onmessage = (e: unknown): void => {
      const m = (e as { data: Message }).data;
      if (m.kind === 'flags') hub.remoteChanged();
      else hub.receive(m.data);
    };
    hub.connect(this);
  }

  remoteFlags(): number {
    let f = 0;
    for (let i = 0; i < this.threads; i++) if (i !== this.me) f |= Atomics.load(this.ctl, CTL_WATCH + i);
    return f;
  }

  publish(flags: number): void {
    Atomics.store(this.ctl, CTL_WATCH + this.me, flags);
    this.bc.postMessage({ kind: 'flags' } satisfies Message);
  }

  send(entries: Uint8Array): void {
    this.bc.postMessage({ kind: 'lines', data: entries } satisfies Message);
  }

  nextGid(): number {
    return Atomics.add(this.ctl, CTL_GID, 1) + 1;
  }

  countWatchers(delta: number): number {
    return Atomics.add(this.ctl, CTL_WATCHERS, delta);
  }

  close(): void {
    this.bc.close();
  }
}
