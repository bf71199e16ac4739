/**
 * Reading one differential session's replies until they are answered, the server
 * closes, or a timeout; with `keepOpen`, a connection that timed out stays open so
 * the caller can wait on it for a close memcached makes later (a hang-up after its
 * read timeout, say) without sending anything again.
 */
import type net from 'node:net';

/** What a session kept open after its timeout offers: wait for the close, or end it. */
export interface KeptOpen<T> {
  /**
   * Only after a timeout of a session read with `keepOpen`: waits on the same
   * connection up to `ms` more for the server to close it, then ends it and says
   * what came meanwhile. Call it or `end` once.
   */
  waitClose?(ms: number): Promise<T>;
  /** Ends a connection kept open after a timeout. */
  end?(): void;
}

/**
 * Collects what `s` receives until `answered(got)`, its close, or `timeoutMs`, and
 * resolves with `result(got, closed, timedOut)`. Listeners go on at once, so call
 * it before `s` connects; writing is the caller's.
 */
export function readSession<T extends KeptOpen<T>>(
  s: net.Socket, timeoutMs: number, keepOpen: boolean,
  answered: (got: Buffer[]) => boolean,
  result: (got: Buffer[], closed: boolean, timedOut: boolean) => T,
): Promise<T> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    let closed = false;
    let finished = false;
    let onClose: (() => void) | null = null;
    const finish = (timedOut: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (!timedOut || !keepOpen) {
        s.destroy();
        resolve(result(got, closed, timedOut));
        return;
      }
      resolve({
        ...result(got, closed, true),
        end: () => s.destroy(),
        waitClose: (ms: number) => new Promise<T>((done) => {
          const stop = (): void => {
            clearTimeout(wait);
            onClose = null;
            s.destroy();
            done(result(got, closed, !closed));
          };
          const wait = setTimeout(stop, ms);
          if (closed) stop();
          else onClose = stop;
        }),
      });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    s.on('data', (d: Buffer) => {
      got.push(d);
      if (!finished && answered(got)) finish(false);
    });
    s.on('close', () => {
      closed = true;
      if (onClose !== null) onClose();
      finish(false);
    });
    s.on('error', () => undefined);
  });
}
