/**
 * `watch` over worker threads: every thread's LogHub is joined to every other's by
 * a MessagePort (the main thread makes the pairs at start). What each thread's
 * watchers ask for is a word of the shared control block (one per thread), so a
 * hub knows whether anyone elsewhere watches without a message per event; a change
 * of those words is announced to every peer, and each round of lines goes, as one
 * transferred buffer, only to the threads whose watchers want some of them. Event
 * numbers come from one Atomics counter, so "events after the watcher started"
 * means the same on every thread. Nothing here runs while nobody watches.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { LogFanout, LogHub } from '../log-stream/log-hub.js';
import { CTL_GID, CTL_WATCH, CTL_WATCHERS } from './front.js';

type Message = { kind: 'flags' } | { kind: 'lines'; flags: number; data: Uint8Array };

/**
 * The ports joining `threads` threads pairwise: ports[i][j] is thread i's end
 * towards thread j (undefined for i === j).
 */
export function peerPorts(threads: number): MessagePort[][] {
  const ports: MessagePort[][] = Array.from({ length: threads }, () => []);
  for (let i = 0; i < threads; i++) {
    for (let j = i + 1; j < threads; j++) {
      const { port1, port2 } = new MessageChannel();
      ports[i][j] = port1;
      ports[j][i] = port2;
    }
  }
  return ports;
}

export class LogChannel implements LogFanout {
  /**
   * `me`: this thread's word among the threads (workers 0..N-1, the main thread N);
   * `peers[j]`: the port to thread j.
   */
  constructor(hub: LogHub, private readonly ctl: Int32Array, private readonly me: number,
    private readonly peers: ReadonlyArray<MessagePort | undefined>) {
    for (const p of peers) {
      if (p === undefined) continue;
      p.on('message', (m: Message) => {
        if (m.kind === 'flags') hub.remoteChanged();
        else hub.receive(m.data);
      });
      p.unref();
    }
    hub.connect(this);
  }

  remoteFlags(): number {
    let f = 0;
    for (let i = 0; i < this.peers.length; i++) if (i !== this.me) f |= Atomics.load(this.ctl, CTL_WATCH + i);
    return f;
  }

  publish(flags: number): void {
    Atomics.store(this.ctl, CTL_WATCH + this.me, flags);
    for (const p of this.peers) p?.postMessage({ kind: 'flags' } satisfies Message);
  }

  send(entries: Uint8Array, flags: number): void {
    const to: MessagePort[] = [];
    for (let i = 0; i < this.peers.length; i++) {
      const p = this.peers[i];
      if (p !== undefined && (Atomics.load(this.ctl, CTL_WATCH + i) & flags) !== 0) to.push(p);
    }
    for (let k = 0; k < to.length; k++) {
      // the last one gets the buffer itself, moved rather than copied
      const data = k === to.length - 1 ? entries : entries.slice();
      to[k].postMessage({ kind: 'lines', flags, data } satisfies Message, [data.buffer as ArrayBuffer]);
    }
  }

  nextGid(): number {
    return Atomics.add(this.ctl, CTL_GID, 1) + 1;
  }

  countWatchers(delta: number): number {
    return Atomics.add(this.ctl, CTL_WATCHERS, delta);
  }

  close(): void {
    for (const p of this.peers) p?.close();
  }
}
