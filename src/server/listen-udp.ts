/**
 * `-U PORT`: memcached's UDP listener. Each datagram is one self-contained text or
 * binary request (framed by protocol/udp-frame.ts; a first payload byte of 0x80 means
 * binary, as on TCP); the reply goes back to the sender in datagrams of at most 1400
 * bytes, framed per response unit (one per binary response) as memcached 1.6 does.
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
import { frameUnit, isServableRequest, UDP_HEADER_SIZE } from '../protocol/udp-frame.js';

export interface UdpListenOptions {
  host: string;
  port: number;
  cache: Cache;
  /** a text protocol bound to conn, e.g. (conn) => new TextProtocol(ctx, conn) */
  makeProtocol: (conn: ProtoConn) => Protocol;
  /** a binary protocol bound to conn; absent: binary datagrams are dropped (-B ascii) */
  makeBinaryProtocol?: (conn: ProtoConn) => Protocol;
  counters?: ServerCounters;
  /** next connection id (shared with the TCP side so ids stay unique) */
  nextId?: () => number;
  /** the engine lock, held while a datagram's requests run (worker threads share the engine) */
  lock?: { enter(): void; exit(): void };
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
    this.out.units = [];
  }
  closeAfterWrite(): void {
    this.closing = true;
  }
}

/** Binds host:port for UDP and serves until the returned socket is closed. */
export function listenUdp(opts: UdpListenOptions): Promise<dgram.Socket> {
  const sock = dgram.createSocket({ type: net.isIPv6(opts.host) ? 'udp6' : 'udp4' });
  sock.on('message', (msg, rinfo) => {
    const lock = opts.lock;
    lock?.enter();
    let replies: Buffer[];
    try {
      replies = serveDatagram(msg, opts, `${rinfo.address}:${rinfo.port}`);
    } finally {
      lock?.exit();
    }
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

/**
 * Runs every request in one datagram and returns the datagrams to send: each
 * response unit the protocol marked in the output (a command's reply, or one key
 * of a get) framed on its own, as memcached does. Exported for tests.
 */
export function serveDatagram(msg: Buffer, opts: UdpListenOptions, peer: string): Buffer[] {
  if (!isServableRequest(msg)) return [];
  const binary = msg[UDP_HEADER_SIZE] === BIN_REQ_MAGIC;
  if (binary && opts.makeBinaryProtocol === undefined) return [];
  if (opts.counters) opts.counters.bytes_read += msg.length;
  const requestId = (msg[0] << 8) | msg[1];
  const conn = new UdpConn(opts.cache, opts.nextId ? opts.nextId() : 0);
  conn.peer = peer;
  if (binary) return serveBinary(msg, opts.makeBinaryProtocol!(conn), conn, requestId);
  const proto = opts.makeProtocol(conn);
  const out: Buffer[] = [];
  try {
    const end = msg.length;
    let pos = UDP_HEADER_SIZE;
    while (pos < end && !conn.closing) {
      const used = proto.process(msg, pos, end);
      pos += used;
      const units = conn.out.units ?? [];
      const reply = take(conn.out);
      let from = 0;
      for (const at of units) {
        for (const d of frameUnit(requestId, reply.subarray(from, at))) out.push(d);
        from = at;
      }
      for (const d of frameUnit(requestId, reply.subarray(from))) out.push(d);
      units.length = 0;
      // a request cut short waits for bytes in memcached; a datagram has no more. A
      // multiget that yielded mid-line (another thread wanted the engine) consumed
      // nothing yet answered keys: it goes on from where it stopped
      if (!proto.yielded || (used === 0 && reply.length === 0)) break;
    }
  } finally {
    conn.out.close();
    proto.closed();
  }
  return out;
}

const BIN_REQ_MAGIC = 0x80;
const BIN_HEADER_SIZE = 24;

/**
 * The binary requests in one datagram, one at a time, each response framed as its own
 * message (quiet commands that answer nothing send nothing). A request cut short by
 * the datagram's end is dropped: no later datagram can complete it.
 */
function serveBinary(msg: Buffer, proto: Protocol, conn: UdpConn, requestId: number): Buffer[] {
  const out: Buffer[] = [];
  try {
    let pos = UDP_HEADER_SIZE;
    while (pos + BIN_HEADER_SIZE <= msg.length && !conn.closing) {
      const end = pos + BIN_HEADER_SIZE + msg.readUInt32BE(pos + 8);
      if (msg[pos] !== BIN_REQ_MAGIC) {
        // a bad magic gets the protocol's own reply (and close) on its header alone
        proto.process(msg, pos, msg.length);
        for (const d of frameUnit(requestId, take(conn.out))) out.push(d);
        break;
      }
      if (end > msg.length) break;
      const used = proto.process(msg, pos, end);
      if (used === 0) break;
      pos += used;
      for (const d of frameUnit(requestId, take(conn.out))) out.push(d);
    }
  } finally {
    conn.out.discard();
    proto.closed();
  }
  return out;
}

/** Everything queued in out as one copied Buffer; pins released at once. */
function take(out: Output): Buffer {
  if (out.isEmpty()) return Buffer.alloc(0);
  const parts: Uint8Array[] = [];
  const sent = out.flush((b) => parts.push(b));
  const all = Buffer.concat(parts); // copies, so the arena views may be unpinned now
  if (sent) out.release(sent);
  out.idle();
  return all;
}
