/**
 * A test talks to a server the way a person with telnet would: send bytes, expect bytes.
 *
 *   const mc = await telnet(t, server);
 *   await mc.says('set a 0 0 1\r\nx\r\n', 'STORED\r\n');
 *   await mc.says('get a\r\n', 'VALUE a 0 1\r\nx\r\nEND\r\n');
 *
 * Replies are compared as strings with \r and \n spelled out, so a failure shows exactly
 * which bytes differ. Reads never sleep: they wait for bytes, the close, or a timeout.
 */
import net from 'node:net';
import type { ExecutionContext } from 'ava';

/** How long a read waits for bytes that should come at once from a local server. */
export const DEFAULT_TIMEOUT_MS = 3000;

/**
 * Bytes as readable text: `\r` and `\n` spelled out (a real newline kept after each \n so
 * diffs stay line by line), other control and non-ASCII bytes as \xNN.
 */
export function visible(bytes: string | Buffer): string {
  const s = typeof bytes === 'string' ? bytes : bytes.toString('latin1');
  return s
    .replace(/\\/g, '\\\\')
    .replace(/\r/g, '\\r')
    .replace(/\n/g, '\\n\n')
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\xff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function toBuffer(bytes: string | Buffer): Buffer {
  return typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
}

/** Where a server listens; startMemcached/startSlabcache return one. */
export interface Address {
  port: number;
  host: string;
}

/**
 * A raw TCP connection that buffers what arrives and lets callers wait for a condition on
 * the buffer. No assertions here: telnet() and differential.ts build on it.
 */
export class RawClient {
  readonly socket: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private closed = false;
  private error: Error | null = null;
  private wake: (() => void) | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      this.notify();
    });
    socket.on('end', () => {
      this.closed = true;
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    socket.on('error', (err) => {
      this.error = err;
      this.closed = true;
      this.notify();
    });
  }

  static connect(port: number, host = '127.0.0.1', timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve(new RawClient(socket));
      });
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(new Error(`connect to ${host}:${port} failed: ${err.message}`));
      };
      socket.once('error', onError);
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Bytes received and not yet taken. */
  get pending(): Buffer {
    return this.buf;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(bytes: string | Buffer): Promise<void> {
    const data = toBuffer(bytes);
    return new Promise((resolve, reject) => {
      if (this.closed) {
        const why = this.error !== null ? `connection failed: ${this.error.message}` : 'connection closed';
        reject(new Error(`cannot send ${JSON.stringify(visible(data))}: ${why}`));
        return;
      }
      this.socket.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  /**
   * Wait until `done(buffer, closed)` returns how many bytes to take (>= 0), then take them.
   * On timeout resolves with { timedOut: true } and takes nothing.
   */
  async waitFor(
    done: (buf: Buffer, closed: boolean) => number,
    timeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<{ bytes: Buffer; timedOut: boolean; closed: boolean }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = done(this.buf, this.closed);
      if (n >= 0) {
        const bytes = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(n);
        return { bytes: Buffer.from(bytes), timedOut: false, closed: this.closed };
      }
      const left = deadline - Date.now();
      if (left <= 0) return { bytes: Buffer.alloc(0), timedOut: true, closed: this.closed };
      // `done` has seen closed=true and still wants more: nothing more will come
      if (this.closed) return { bytes: Buffer.alloc(0), timedOut: false, closed: true };
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.wake = null;
          resolve();
        }, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Take everything buffered. */
  drain(): Buffer {
    const b = this.buf;
    this.buf = Buffer.alloc(0);
    return b;
  }

  /** Take exactly n bytes; rejects (showing what did arrive) on timeout or close. */
  async read(n: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Buffer> {
    const r = await this.waitFor((b) => (b.length >= n ? n : -1), timeoutMs);
    if (r.bytes.length === n) return r.bytes;
    const why = r.timedOut ? `timed out after ${timeoutMs} ms` : 'connection closed';
    throw new Error(`read(${n}): ${why} with ${this.buf.length} bytes: "${visible(this.buf)}"`);
  }

  /** Take bytes up to and including `terminator`; rejects (showing what arrived) on timeout or close. */
  async readUntil(terminator: string | Buffer, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Buffer> {
    const term = toBuffer(terminator);
    const r = await this.waitFor((b) => {
      const at = b.indexOf(term);
      return at < 0 ? -1 : at + term.length;
    }, timeoutMs);
    if (r.bytes.length > 0 || term.length === 0) return r.bytes;
    const why = r.timedOut ? `timed out after ${timeoutMs} ms` : 'connection closed';
    throw new Error(`readUntil("${visible(term)}"): ${why} with ${this.buf.length} bytes: "${visible(this.buf)}"`);
  }

  /** Wait for the peer to close; resolves with the bytes that came before the close. */
  async untilClosed(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<{ bytes: Buffer; closed: boolean }> {
    const r = await this.waitFor((b, closed) => (closed ? b.length : -1), timeoutMs);
    return { bytes: r.bytes, closed: r.closed && !r.timedOut };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) {
        resolve();
        return;
      }
      this.socket.once('close', () => resolve());
      this.socket.end();
      this.socket.destroy();
    });
  }
}

export interface Telnet {
  /** The connection underneath, for anything the verbs below don't cover. */
  readonly raw: RawClient;
  send(bytes: string | Buffer): Promise<void>;
  /**
   * Send `request` (may be empty), read expectedReply.length bytes, t.is them. Stops early
   * when the bytes so far already differ, and at the timeout when too few come.
   */
  says(request: string | Buffer, expectedReply: string | Buffer, timeoutMs?: number): Promise<void>;
  /** Exactly n bytes; throws on timeout. */
  read(n: number, timeoutMs?: number): Promise<Buffer>;
  /** Up to and including the terminator, e.g. 'END\r\n'; throws on timeout. */
  readUntil(terminator: string | Buffer, timeoutMs?: number): Promise<Buffer>;
  /** Assert the server closes the connection (and, if given, that exactly `before` came first). */
  expectClosed(before?: string | Buffer, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const MN_PROBE = Buffer.from('mn\r\n');
const MN_REPLY = Buffer.from('MN\r\n');
/** A binary NOOP request, and the header its response starts with (magic 0x81, opcode 0x0a). */
const NOOP_PROBE = Buffer.from([0x80, 0x0a, ...new Array<number>(22).fill(0)]);

/**
 * What arrived after the last exchange: a no-op goes out (`mn`, or a binary NOOP on a
 * binary connection) and everything before its answer is extra. null when nothing was,
 * or when the connection closed with nothing pending. A server that answers the probe
 * with something else (an unauthenticated connection, a request left half sent) shows
 * that answer: such a test says `{ probe: false }` and checks its own ending.
 */
export async function bytesAfterLastExchange(raw: RawClient, binary: boolean): Promise<Buffer | null> {
  if (raw.isClosed) return raw.pending.length > 0 ? raw.drain() : null;
  await raw.send(binary ? NOOP_PROBE : MN_PROBE).catch(() => {});
  const answered = (b: Buffer): number => {
    if (!binary) return b.length >= MN_REPLY.length && b.subarray(b.length - MN_REPLY.length).equals(MN_REPLY) ? b.length - MN_REPLY.length : -1;
    // walk whole binary frames: the NOOP response is the last one
    let at = 0;
    while (at + 24 <= b.length) {
      const end = at + 24 + b.readUInt32BE(at + 8);
      if (end > b.length) return -1;
      if (b[at] === 0x81 && b[at + 1] === 0x0a && end === b.length) return at;
      at = end;
    }
    return -1;
  };
  const r = await raw.waitFor((b, closed) => (answered(b) >= 0 || closed ? b.length : -1));
  const before = answered(r.bytes);
  const extra = before >= 0 ? r.bytes.subarray(0, before) : r.bytes;
  return extra.length > 0 ? extra : r.timedOut ? Buffer.from('[no answer to the closing probe]') : null;
}

/** `stats <group>` as name -> value. */
export async function stats(c: Telnet, group = ''): Promise<Map<string, string>> {
  await c.send(group === '' ? 'stats\r\n' : `stats ${group}\r\n`);
  const text = (await c.readUntil('END\r\n', 10_000)).toString('latin1');
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^STAT (\S+) (\S*)\r$/gm)) out.set(m[1], m[2]);
  return out;
}

export interface TelnetOptions {
  /**
   * At teardown, check that nothing arrived after the last exchange (default: true): a
   * no-op probe must be answered with nothing before it. Off for connections whose
   * server cannot answer it (ascii auth before login, a request left half sent on
   * purpose); those tests check their own ending.
   */
  probe?: boolean;
}

/**
 * Open a connection to a test server; the test's teardown checks that nothing came
 * after the last exchange (see TelnetOptions.probe), then closes it.
 */
export async function telnet(t: ExecutionContext, server: Address | number, host?: string, opts: TelnetOptions = {}): Promise<Telnet> {
  const port = typeof server === 'number' ? server : server.port;
  const h = host ?? (typeof server === 'number' ? '127.0.0.1' : server.host);
  const raw = await RawClient.connect(port, h);
  let firstByte = -1;
  let closedByTest = false;
  const sent = (bytes: string | Buffer): void => {
    const b = toBuffer(bytes);
    if (firstByte < 0 && b.length > 0) firstByte = b[0];
  };
  t.teardown(async () => {
    const extra = opts.probe === false || closedByTest ? null : await bytesAfterLastExchange(raw, firstByte === 0x80);
    await raw.close();
    if (extra !== null) throw new Error(`bytes after the last exchange: "${visible(extra)}"`);
  });
  return {
    raw,
    send: (bytes) => {
      sent(bytes);
      return raw.send(bytes);
    },
    async says(request, expectedReply, timeoutMs = DEFAULT_TIMEOUT_MS) {
      const expected = toBuffer(expectedReply);
      sent(request);
      if (toBuffer(request).length > 0) await raw.send(request);
      // done at expected.length bytes, or as soon as what came differs from what is expected
      const r = await raw.waitFor((b) => {
        if (b.length >= expected.length) return expected.length;
        return expected.subarray(0, b.length).equals(b) ? -1 : b.length;
      }, timeoutMs);
      // on a short read, show whatever did arrive
      const actual = r.bytes.length > 0 ? r.bytes : raw.drain();
      const note = r.timedOut ? ` (timed out after ${timeoutMs} ms)` : r.closed && actual.length < expected.length ? ' (connection closed)' : '';
      t.is(visible(actual), visible(expected), `reply to "${visible(request).replace(/\n/g, '')}"${note}`);
    },
    read: (n, timeoutMs) => raw.read(n, timeoutMs),
    readUntil: (terminator, timeoutMs) => raw.readUntil(terminator, timeoutMs),
    async expectClosed(before, timeoutMs = DEFAULT_TIMEOUT_MS) {
      const r = await raw.untilClosed(timeoutMs);
      if (before !== undefined) t.is(visible(r.bytes), visible(before), 'bytes before the close');
      t.true(r.closed, `connection still open after ${timeoutMs} ms; pending: "${visible(r.bytes)}"`);
    },
    close: () => {
      closedByTest = true;
      return raw.close();
    },
  };
}
