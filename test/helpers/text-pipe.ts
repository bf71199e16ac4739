/**
 * A pipelining text-protocol client for load in tests: send a batch of commands in one
 * write, then read exactly as many replies. A reply is one line (`STORED`, `41`, `EXISTS`,
 * `OK`, ...) or a retrieval's `VALUE` blocks up to `END`. The parser keeps its place in the
 * buffer between reads, so a large batch is scanned once.
 *
 *   const c = await TextPipe.connect(server);
 *   const replies = await c.batch('incr n 1\r\n'.repeat(500), 500);
 */
import { RawClient, visible, type Address } from './telnet.js';

export interface TextValue {
  key: string;
  flags: number;
  cas: bigint | null;
  data: Buffer;
}

export type TextReply = { kind: 'line'; line: string } | { kind: 'values'; values: TextValue[] };

const CRLF = Buffer.from('\r\n');

/** Replies parsed from `buf` from `at` on, and where the next unparsed byte is. */
class ReplyScanner {
  at = 0;
  readonly replies: TextReply[] = [];
  private pending: TextValue[] | null = null;

  /** Parse every complete reply in buf; throws on bytes that are no reply at all. */
  scan(buf: Buffer): void {
    for (;;) {
      const eol = buf.indexOf(CRLF, this.at);
      if (eol < 0) return;
      const line = buf.toString('latin1', this.at, eol);
      if (line.startsWith('VALUE ')) {
        const f = line.split(' ');
        const bytes = Number(f[3]);
        if (f.length < 4 || f.length > 5 || !Number.isSafeInteger(bytes)) throw new Error(`malformed VALUE line "${visible(line)}"`);
        const end = eol + 2 + bytes;
        if (buf.length < end + 2) return; // the data block is still arriving
        if (buf[end] !== 0x0d || buf[end + 1] !== 0x0a) throw new Error(`VALUE ${f[1]}: data block of ${bytes} bytes not followed by \\r\\n`);
        (this.pending ??= []).push({
          key: f[1],
          flags: Number(f[2]),
          cas: f.length === 5 ? BigInt(f[4]) : null,
          data: Buffer.from(buf.subarray(eol + 2, end)),
        });
        this.at = end + 2;
        continue;
      }
      this.at = eol + 2;
      if (line === 'END') {
        this.replies.push({ kind: 'values', values: this.pending ?? [] });
        this.pending = null;
      } else if (this.pending !== null) {
        throw new Error(`"${visible(line)}" inside a retrieval reply, before its END`);
      } else {
        this.replies.push({ kind: 'line', line });
      }
    }
  }
}

export class TextPipe {
  private constructor(readonly raw: RawClient) {}

  static async connect(server: Address): Promise<TextPipe> {
    return new TextPipe(await RawClient.connect(server.port, server.host));
  }

  /**
   * Send `requests` (any number of commands) and resolve with the next `count` replies.
   * Rejects, saying how many arrived, if they do not all come within timeoutMs.
   */
  async batch(requests: string | Buffer, count: number, timeoutMs = 20_000): Promise<TextReply[]> {
    const scanner = new ReplyScanner();
    await this.raw.send(requests);
    let failure: Error | null = null;
    const r = await this.raw.waitFor((buf, closed) => {
      try {
        scanner.scan(buf);
      } catch (err) {
        failure = err as Error;
        return buf.length;
      }
      if (scanner.replies.length >= count) return scanner.at;
      return closed ? buf.length : -1;
    }, timeoutMs);
    if (failure !== null) throw failure;
    if (scanner.replies.length < count) {
      const why = r.timedOut ? `timed out after ${timeoutMs} ms` : 'the connection closed';
      throw new Error(`expected ${count} replies, ${why} after ${scanner.replies.length}; unparsed: "${visible(this.raw.pending.subarray(scanner.at, scanner.at + 200))}"`);
    }
    if (scanner.replies.length > count) throw new Error(`expected ${count} replies, got ${scanner.replies.length}`);
    return scanner.replies;
  }

  /** One command, one reply. */
  async one(request: string | Buffer, timeoutMs?: number): Promise<TextReply> {
    return (await this.batch(request, 1, timeoutMs))[0];
  }

  /** One command whose reply is one line; rejects if it is anything else. */
  async line(request: string): Promise<string> {
    const r = await this.one(request);
    if (r.kind !== 'line') throw new Error(`"${visible(request)}" answered VALUE blocks, not a line`);
    return r.line;
  }

  /** `stats [sub]` as a name -> value map. */
  async stats(sub = ''): Promise<Map<string, string>> {
    await this.raw.send(sub === '' ? 'stats\r\n' : `stats ${sub}\r\n`);
    // up to END, or the one-line error a server without this stats group answers
    const r = await this.raw.waitFor((b) => {
      const s = b.toString('latin1');
      const end = s.indexOf('END\r\n');
      if (end >= 0) return end + 5;
      const err = /^(?:ERROR|CLIENT_ERROR|SERVER_ERROR)[^\r\n]*\r\n/.exec(s);
      return err !== null ? err[0].length : -1;
    }, 10_000);
    const text = r.bytes.toString('latin1');
    if (r.timedOut) throw new Error(`stats ${sub}: no END within 10 s; got "${visible(this.raw.pending.subarray(0, 200))}"`);
    if (!text.endsWith('END\r\n')) throw new Error(`stats ${sub} answered "${visible(text)}"`);
    const out = new Map<string, string>();
    for (const line of text.split('\r\n')) {
      const m = /^STAT (\S+) (.*)$/.exec(line);
      if (m !== null) out.set(m[1], m[2]);
      else if (line !== '' && line !== 'END') throw new Error(`stats ${sub}: unexpected line "${visible(line)}"`);
    }
    return out;
  }

  close(): Promise<void> {
    return this.raw.close();
  }
}

/** A reply that must be one line, as that line; throws naming what it was instead. */
export function lineOf(r: TextReply, what: string): string {
  if (r.kind !== 'line') throw new Error(`${what}: expected a line, got ${r.values.length} VALUE block(s)`);
  return r.line;
}
