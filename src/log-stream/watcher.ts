/**
 * One `watch` connection: a bounded buffer of log lines and the socket they go to.
 * As memcached's logger_watcher: settings.watcherLogbufSize bytes and no more; a
 * line that does not fit while the client is slow to read is skipped and counted,
 * and the next line that fits is preceded by `skipped=N\n`. The socket is written
 * from the buffer itself (no copy); bytes handed to a write stay untouched until
 * it completes, so memory stays bounded however long the client does not read.
 */
import type { ServerCounters } from '../server-context.js';

/** What a watcher needs of its socket (server/ passes its net.Socket). */
export interface WatchSocket {
  write(data: Uint8Array, cb: (err?: Error | null) => void): boolean;
  readonly destroyed: boolean;
}

/** memcached reserves this much beside each line for a `skipped=N\n` before it. */
const SKIP_ROOM = 128;

export class Watcher {
  private readonly buf: Buffer;
  /** unsent bytes: buf[start, end); buf[start, sentEnd) is in a write not yet done */
  private start = 0;
  private end = 0;
  private sentEnd = 0;
  private writing = false;
  /** lines skipped since the last one that fit */
  private skipped = 0;
  /** no room after a flush attempt: skip without trying until the next round (memcached's failed_flush) */
  private failedFlush = false;
  closed = false;
  private readonly onWritten = (err?: Error | null): void => {
    this.writing = false;
    if (err) return; // the socket closes; its 'close' removes us
    this.start = this.sentEnd;
    if (this.start === this.end) this.start = this.end = 0;
    this.flush();
  };

  constructor(
    private readonly sock: WatchSocket,
    readonly flags: number,
    /** lines logged before the watch began (lower gid) are not sent */
    readonly minGid: number,
    size: number,
    private readonly counters: ServerCounters,
  ) {
    this.buf = Buffer.allocUnsafe(Math.max(size, SKIP_ROOM * 2));
  }

  /** Queues bytes the protocol owes the client before any line (the `OK\r\n`). */
  greet(b: Buffer): void {
    b.copy(this.buf, this.end);
    this.end += b.length;
  }

  /** One line for this watcher: queued, or skipped and counted. */
  offer(line: Buffer, s: number, e: number): void {
    const n = e - s;
    if (this.failedFlush || !this.room(n + SKIP_ROOM)) {
      this.failedFlush = true;
      this.skipped++;
      this.counters.log_watcher_skipped++;
      return;
    }
    if (this.skipped > 0) {
      this.end += this.buf.write(`skipped=${this.skipped}\n`, this.end, 'latin1');
      this.skipped = 0;
    }
    line.copy(this.buf, this.end, s, e);
    this.end += n;
    this.counters.log_watcher_sent++;
  }

  /** End of a round: write what is queued; the next round may try for room again. */
  roundDone(): void {
    this.failedFlush = false;
    this.flush();
  }

  private room(n: number): boolean {
    if (this.end + n <= this.buf.length) return true;
    if (this.writing) return false; // bytes in flight may not move
    // compact: nothing is being written, so the unsent bytes can move to the front
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    return this.end + n <= this.buf.length;
  }

  private flush(): void {
    if (this.writing || this.closed || this.start === this.end || this.sock.destroyed) return;
    this.writing = true;
    this.sentEnd = this.end;
    this.sock.write(this.buf.subarray(this.start, this.end), this.onWritten);
  }
}
