/**
 * `-U PORT`: memcached's UDP listener. Each datagram is one self-contained text
 * request (framed by protocol/udp-frame.ts); the reply goes back to the sender in
 * datagrams of at most 1400 bytes, framed per response unit as memcached 1.6 does.
 *
 * Every datagram gets a fresh protocol instance, so a request cut short (a set
 * whose data did not fit) cannot swallow the next datagram as memcached's shared
 * UDP connection does. UDP is not the hot path: a few allocations per datagram
 * are fine here.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Cache } from '../cache/engine.js';
import type { ProtoConn, Protocol, ServerCounters } from '../protocol/context.js';
import { Output } from '../protocol/output.js';
import {
  frameUnit, isServableRequest, lastValueKey, replyUnits, UDP_HEADER_SIZE,
} from '../protocol/udp-frame.js';

export interface UdpListenOptions {
  host: string;
  port: number;
  cache: Cache;
  /** a text protocol bound to conn, e.g. (conn) => new TextProtocol(ctx, conn) */
  makeProtocol: (conn: ProtoConn) => Protocol;
  counters?: ServerCounters;
  /** next connection id (shared with the TCP side so ids stay unique) */
  nextId?: () => number;
}

/** The sender of one datagram, as a protocol sees it. */
class UdpConn implements ProtoConn {
  readonly out: Output;
  readonly transport = 'udp';
  peer = '';
  closing = false;
  authenticated = false;
  constructor(cache: Cache, readonly id: number) {
    this.out = new Output(cache);
  }
  closeAfterWrite(): void {
    this.closing = true;
  }
}

/** Binds host:port for UDP and serves until the returned socket is closed. */
export function listenUdp(opts: UdpListenOptions): Promise<dgram.Socket> {
  const sock = dgram.createSocket({ type: net.isIPv6(opts.host) ? 'udp6' : 'udp4' });
  sock.on('message', (msg, rinfo) => {
    const replies = serveDatagram(msg, opts, `${rinfo.address}:${rinfo.port}`);
    for (const d of replies) {
      if (opts.counters) opts.counters.bytes_written += d.length;
      sock.send(d, rinfo.port, rinfo.address);
    }
  });
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(opts.port, opts.host, () => {
      sock.off('error', reject);
      // a send to a vanished client must not bring the daemon down
      sock.on('error', () => {});
      resolve(sock);
    });
  });
}

const GET_WORDS = ['get', 'gets', 'gat', 'gats'];

/**
 * Runs every request in one datagram, one command at a time so each command's
 * reply is framed on its own (as memcached does), and returns the datagrams to
 * send. Exported for tests.
 */
export function serveDatagram(msg: Buffer, opts: UdpListenOptions, peer: string): Buffer[] {
  if (!isServableRequest(msg)) return [];
  // binary protocol is not served over UDP: drop it, as a text-only listener must
  if (msg[UDP_HEADER_SIZE] === 0x80) return [];
  if (opts.counters) opts.counters.bytes_read += msg.length;
  const requestId = (msg[0] << 8) | msg[1];
  const conn = new UdpConn(opts.cache, opts.nextId ? opts.nextId() : 0);
  conn.peer = peer;
  const proto = opts.makeProtocol(conn);
  const out: Buffer[] = [];
  try {
    const end = msg.length;
    let pos = UDP_HEADER_SIZE;
    // feed one more line at a time: the protocol consumes a request only once it
    // is whole, so each call that consumes bytes has run exactly one command
    let upto = lineEnd(msg, pos, end);
    while (pos < end && !conn.closing) {
      const line = lineInfo(msg, pos, upto);
      const used = proto.process(msg, pos, upto);
      if (used === 0) {
        if (upto >= end) break; // incomplete request: memcached waits, a datagram cannot
        upto = lineEnd(msg, upto, end);
        continue;
      }
      pos += used;
      if (upto < pos) upto = pos;
      if (upto === pos) upto = lineEnd(msg, pos, end);
      const reply = take(conn.out);
      if (reply.length === 0) continue;
      const lastHit = line.isGet && line.lastKey !== null && lastValueKey(reply) === line.lastKey;
      for (const unit of replyUnits(reply, line.isGet, lastHit)) {
        for (const d of frameUnit(requestId, unit)) out.push(d);
      }
    }
  } finally {
    conn.out.close();
    proto.closed();
  }
  return out;
}

function lineEnd(buf: Buffer, from: number, end: number): number {
  const nl = buf.indexOf(0x0a, from);
  return nl < 0 || nl >= end ? end : nl + 1;
}

/** Whether the request line starting at pos is a get-family command, and its last key. */
function lineInfo(buf: Buffer, pos: number, upto: number): { isGet: boolean; lastKey: string | null } {
  const eol = lineEnd(buf, pos, upto);
  const words = buf.toString('latin1', pos, eol).trim().split(/ +/);
  const isGet = GET_WORDS.includes(words[0]);
  return { isGet, lastKey: isGet && words.length > 1 ? words[words.length - 1] : null };
}

/** Everything queued in out as one copied Buffer; pins released at once. */
function take(out: Output): Buffer {
  if (out.isEmpty()) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  const sent = out.flush((b) => parts.push(b));
  const all = Buffer.concat(parts); // copies, so the arena views may be unpinned now
  if (sent) out.release(sent);
  out.idle();
  return all;
}
