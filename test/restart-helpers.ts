/**
 * Helpers for the warm restart tests: a bulk client that pipelines thousands of
 * requests and parses the replies as they stream in (values included), and the
 * stop/start of a daemon on one -e file.
 */
import net from 'node:net';
import type { ExecutionContext } from 'ava';
import { startSlabcache, type TestServer } from './helpers/memcached.js';

export interface Reply {
  line: string;
  value: Buffer | null;
}

/** One connection; send() pipelines, replies() waits for n whole replies. */
export class BulkClient {
  private buf: Buffer = Buffer.alloc(0);
  private got: Reply[] = [];
  private wake: (() => void) | null = null;
  private failed: Error | null = null;

  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.parse();
      this.wake?.();
    });
    sock.on('error', (e) => {
      this.failed = e;
      this.wake?.();
    });
    sock.on('close', () => {
      this.failed ??= new Error('connection closed');
      this.wake?.();
    });
  }

  static async connect(server: { host: string; port: number }): Promise<BulkClient> {
    const sock = net.connect(server.port, server.host);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => resolve());
      sock.once('error', reject);
    });
    return new BulkClient(sock);
  }

  /** Whole replies: a line, or for `VA <len> ...` and `VALUE k f <len>` the line and its data. */
  private parse(): void {
    let pos = 0;
    const b = this.buf;
    for (;;) {
      const eol = b.indexOf('\r\n', pos);
      if (eol < 0) break;
      const line = b.toString('latin1', pos, eol);
      let len = -1;
      if (line.startsWith('VA ')) len = Number(line.split(' ')[1]);
      if (len >= 0) {
        if (b.length < eol + 2 + len + 2) break;
        this.got.push({ line, value: Buffer.from(b.subarray(eol + 2, eol + 2 + len)) });
        pos = eol + 2 + len + 2;
      } else {
        this.got.push({ line, value: null });
        pos = eol + 2;
      }
    }
    this.buf = pos === b.length ? Buffer.alloc(0) : b.subarray(pos);
  }

  send(bytes: string | Buffer): void {
    this.sock.write(bytes);
  }

  /** The next n replies; fails after timeoutMs saying how many came. */
  async replies(n: number, timeoutMs = 30_000): Promise<Reply[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.got.length < n) {
      if (this.failed) throw new Error(`${this.failed.message} after ${this.got.length} of ${n} replies`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} replies, got ${this.got.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = null;
          resolve();
        };
      });
    }
    return this.got.splice(0, n);
  }

  /** Sends and returns the lines up to END (stats). */
  async stats(cmd: string): Promise<Map<string, string>> {
    this.send(`${cmd}\r\n`);
    const out = new Map<string, string>();
    for (;;) {
      const [r] = await this.replies(1);
      if (r.line === 'END') return out;
      const [, k, ...v] = r.line.split(' ');
      out.set(k, v.join(' '));
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Stops with `signal` and waits for the exit, which must be a clean 0. */
export async function stopWith(t: ExecutionContext, server: TestServer, signal: NodeJS.Signals): Promise<void> {
  server.child.kill(signal);
  await server.done;
  t.deepEqual(server.exited(), { code: 0, signal: null }, `exit after ${signal}`);
}

/** A daemon on the -e file, quiet unless something goes wrong. */
export function startOn(t: ExecutionContext, file: string, args: string[] = []): Promise<TestServer> {
  return startSlabcache(t, ['-U', '0', '-e', file, ...args], { readyTimeoutMs: 60_000 });
}
