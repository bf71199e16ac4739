/**
 * memcached's UDP frame: every datagram starts with an 8-byte header, then text
 * protocol bytes (doc/protocol.txt "UDP protocol"):
 *
 *   0      2          4        6         8
 *   +------+----------+--------+---------+----------------
 *   | id   | sequence | total  | reserved| payload ...
 *   +------+----------+--------+---------+----------------
 *   all big-endian u16; id echoes the request's, sequence counts 0..total-1
 *
 * A request must fit in one datagram (total 1); memcached drops anything else.
 * A reply is cut into datagrams of at most UDP_MAX_PAYLOAD_SIZE bytes, header
 * included, so UDP_DATA_SIZE payload bytes each.
 *
 * memcached 1.6 frames each response object on its own: a get sends one framed
 * message per key (sequence restarting at 0), with END riding on the last key's
 * message, or alone when the last key missed. The text protocol marks where each
 * unit starts as it writes the reply (Output.unit()), and frameUnit() frames each.
 *
 * Pure functions over Buffers; the socket side is server/listen-udp.ts.
 */

export const UDP_HEADER_SIZE = 8;
export const UDP_MAX_PAYLOAD_SIZE = 1400;
export const UDP_DATA_SIZE = UDP_MAX_PAYLOAD_SIZE - UDP_HEADER_SIZE;
const USHRT_MAX = 0xffff;

export interface UdpHeader {
  requestId: number;
  sequence: number;
  total: number;
  reserved: number;
}

/** The header of a datagram, or null when it carries no payload (memcached needs > 8 bytes). */
export function decodeUdpHeader(d: Uint8Array): UdpHeader | null {
  if (d.length <= UDP_HEADER_SIZE) return null;
  return {
    requestId: (d[0] << 8) | d[1],
    sequence: (d[2] << 8) | d[3],
    total: (d[4] << 8) | d[5],
    reserved: (d[6] << 8) | d[7],
  };
}

/**
 * True when memcached would serve this datagram: it has a payload and says it is
 * the only datagram of its request (memcached checks only the total, not the sequence).
 */
export function isServableRequest(d: Uint8Array): boolean {
  return d.length > UDP_HEADER_SIZE && d[4] === 0 && d[5] === 1;
}

export function encodeUdpHeader(dst: Uint8Array, at: number, h: UdpHeader): void {
  dst[at] = (h.requestId >>> 8) & 0xff;
  dst[at + 1] = h.requestId & 0xff;
  dst[at + 2] = (h.sequence >>> 8) & 0xff;
  dst[at + 3] = h.sequence & 0xff;
  dst[at + 4] = (h.total >>> 8) & 0xff;
  dst[at + 5] = h.total & 0xff;
  dst[at + 6] = (h.reserved >>> 8) & 0xff;
  dst[at + 7] = h.reserved & 0xff;
}

/**
 * One response unit as datagrams: sequence 0..n-1 of n, each at most
 * UDP_MAX_PAYLOAD_SIZE bytes. memcached caps the advertised total at 65535 (it
 * keeps sending past that, the sequence wrapping; so do we). An empty unit sends
 * nothing.
 */
export function frameUnit(requestId: number, unit: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  if (unit.length === 0) return out;
  const total = Math.min(Math.ceil(unit.length / UDP_DATA_SIZE), USHRT_MAX);
  for (let off = 0, seq = 0; off < unit.length; off += UDP_DATA_SIZE, seq++) {
    const n = Math.min(UDP_DATA_SIZE, unit.length - off);
    const d = Buffer.allocUnsafe(UDP_HEADER_SIZE + n);
    encodeUdpHeader(d, 0, { requestId, sequence: seq & USHRT_MAX, total, reserved: 0 });
    d.set(unit.subarray(off, off + n), UDP_HEADER_SIZE);
    out.push(d);
  }
  return out;
}
