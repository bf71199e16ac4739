/**
 * A small raw binary-protocol client for the binary and SASL tests: builds request
 * packets, sends a script (optionally split into pieces) and reads replies until a
 * sentinel NOOP comes back, the server closes, or a deadline passes.
 */
import net from 'node:net';
import { readSession, type KeptOpen } from './helpers/kept-open.js';

export interface Packet {
  magic?: number;
  op: number;
  key?: string | Buffer;
  extras?: Buffer;
  value?: string | Buffer;
  cas?: bigint;
  opaque?: number;
  /** override the computed lengths to build malformed headers */
  keylen?: number;
  extlen?: number;
  bodylen?: number;
}

export function pkt(p: Packet): Buffer {
  const k = typeof p.key === 'string' ? Buffer.from(p.key) : p.key ?? Buffer.alloc(0);
  const v = typeof p.value === 'string' ? Buffer.from(p.value) : p.value ?? Buffer.alloc(0);
  const e = p.extras ?? Buffer.alloc(0);
  const h = Buffer.alloc(24);
  h[0] = p.magic ?? 0x80;
  h[1] = p.op;
  h.writeUInt16BE(p.keylen ?? k.length, 2);
  h[4] = p.extlen ?? e.length;
  h.writeUInt32BE(p.bodylen ?? e.length + k.length + v.length, 8);
  h.writeUInt32BE(p.opaque ?? 0, 12);
  h.writeBigUInt64BE(p.cas ?? 0n, 16);
  return Buffer.concat([h, e, k, v]);
}

/** Big-endian u32 extras, e.g. ext(flags, exptime). */
export function ext(...xs: number[]): Buffer {
  const b = Buffer.alloc(xs.length * 4);
  xs.forEach((x, i) => b.writeUInt32BE(x >>> 0, i * 4));
  return b;
}

/** incr/decr extras: delta, initial, exptime. */
export function arithExt(delta: bigint, initial: bigint, exptime: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeBigUInt64BE(delta, 0);
  b.writeBigUInt64BE(initial, 8);
  b.writeUInt32BE(exptime >>> 0, 16);
  return b;
}

export const SENTINEL_OPAQUE = 0x5e471e1;
export const sentinel = (): Buffer => pkt({ op: 0x0a, opaque: SENTINEL_OPAQUE });

export interface Reply {
  magic: number; op: number; status: number; opaque: number; cas: bigint;
  extras: string; key: string; value: string;
}

export function parseReplies(buf: Buffer): { replies: Reply[]; rest: Buffer } {
  const replies: Reply[] = [];
  let i = 0;
  while (i + 24 <= buf.length) {
    const kl = buf.readUInt16BE(i + 2);
    const el = buf[i + 4];
    const bl = buf.readUInt32BE(i + 8);
    if (i + 24 + bl > buf.length) break;
    const body = buf.subarray(i + 24, i + 24 + bl);
    replies.push({
      magic: buf[i], op: buf[i + 1], status: buf.readUInt16BE(i + 6), opaque: buf.readUInt32BE(i + 12),
      cas: buf.readBigUInt64BE(i + 16), extras: body.subarray(0, el).toString('hex'),
      key: body.subarray(el, el + kl).toString('latin1'), value: body.subarray(el + kl).toString('latin1'),
    });
    i += 24 + bl;
  }
  return { replies, rest: buf.subarray(i) };
}

export interface Exchange extends KeptOpen<Exchange> {
  bytes: Buffer; replies: Reply[]; closed: boolean; timedOut: boolean;
}

/**
 * Writes `chunks` one write each (awaiting each so they arrive as separate reads
 * where the kernel allows), then reads until a reply with the sentinel's opaque,
 * a close, or `timeoutMs`. With `keepOpen`, a timed-out connection stays open for
 * the caller's waitClose() or end().
 */
export function exchange(port: number, chunks: Buffer[], timeoutMs = 3000, host = '127.0.0.1', keepOpen = false): Promise<Exchange> {
  const s = net.connect(port, host);
  const session = readSession<Exchange>(s, timeoutMs, keepOpen,
    (got) => parseReplies(Buffer.concat(got)).replies.some((r) => r.opaque === SENTINEL_OPAQUE && r.op === 0x0a),
    (got, closed, timedOut) => {
      const bytes = Buffer.concat(got);
      return { bytes, replies: parseReplies(bytes).replies, closed, timedOut };
    });
  s.on('connect', async () => {
    for (const c of chunks) {
      if (s.destroyed) return;
      await new Promise<void>((r) => s.write(c, () => r()));
    }
  });
  return session;
}

/** Replies with volatile fields masked: CAS values, stat values, version text. */
export function masked(x: Exchange): string {
  const lines = x.replies.map((r) => {
    const cas = r.cas === 0n ? '0' : 'CAS';
    let value = r.value;
    if (r.op === 0x10 && r.key !== '') value = '*';
    if (r.op === 0x0b && r.status === 0) value = 'VERSION';
    return `${r.magic.toString(16)} op=${r.op.toString(16)} st=${r.status.toString(16)} opq=${r.opaque} cas=${cas} ext=${r.extras} key=${JSON.stringify(r.key)} val=${JSON.stringify(value)}`;
  });
  const rest = parseReplies(x.bytes).rest;
  if (rest.length > 0) lines.push(`partial ${rest.toString('hex')}`);
  lines.push(x.closed ? 'closed' : x.timedOut ? 'timeout' : 'open');
  return lines.join('\n');
}
