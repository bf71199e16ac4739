/** Pipelined load for the allocation tests: the same request batch, over and over. */
import type net from 'node:net';

/**
 * Sends `req` `count` times, each once the previous batch (numbered b, from `first`)
 * is fully answered with replyLen(b) bytes; rejects on bytes beyond the last reply.
 */
export function runBatches(sock: net.Socket, req: Buffer, count: number, replyLen: (b: number) => number, first = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    let b = first;
    const end = first + count;
    let want = replyLen(b);
    let got = 0;
    const onData = (chunk: Buffer): void => {
      got += chunk.length;
      while (got >= want && b < end) {
        got -= want;
        b++;
        if (b < end) {
          want = replyLen(b);
          sock.write(req);
        }
      }
      if (b === end) {
        sock.off('data', onData);
        sock.off('error', reject);
        if (got !== 0) reject(new Error(`${got} unexpected reply bytes`));
        else resolve();
      }
    };
    sock.on('data', onData);
    sock.on('error', reject);
    sock.write(req);
  });
}

/** Resumes a paused socket and resolves with the byte count once at least `want` bytes have come. */
export function drainPaused(sock: net.Socket, want: number): Promise<number> {
  let got = 0;
  const done = new Promise<number>((resolve) => {
    sock.on('data', (b: Buffer) => {
      got += b.length;
      if (got >= want) resolve(got);
    });
  });
  sock.resume();
  return done;
}
