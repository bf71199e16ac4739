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
 * message, or alone when the last key missed. replyUnits() recovers those units
 * from the reply bytes so the datagrams match memcached's byte for byte.
 *
 * Pure functions over Buffers; the socket side is server/listen-udp.ts.
 */

export const UDP_HEADER_SIZE = 8;
export const UDP_MAX_PAYLOAD_SIZE = 1400;
export const UDP_DATA_SIZE = UDP_MAX_PAYLOAD_SIZE - UDP_HEADER_SIZE;
/** memcached's UDP_READ_BUFFER_SIZE: the largest request datagram it reads */
export const UDP_READ_BUFFER_SIZE = 65536;
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

const VALUE = Buffer.from('VALUE ');
const END = Buffer.from('END\r\n');

/**
 * Splits the reply to one get/gets/gat/gats request into memcached's response
 * units: one per VALUE block; END joins the last block when `lastKeyHit`, else it
 * stands alone. Anything that is not a VALUE block (an error mid-way) stays with
 * the unit before it. Other commands are one unit: call with isGet false.
 */
export function replyUnits(reply: Buffer, isGet: boolean, lastKeyHit: boolean): Buffer[] {
  if (!isGet || reply.length === 0) return reply.length === 0 ? [] : [reply];
  const units: Buffer[] = [];
  let unitStart = 0;
  let pos = 0;
  while (pos < reply.length) {
    if (startsWith(reply, pos, VALUE)) {
      const eol = reply.indexOf(0x0a, pos);
      const bytes = eol < 0 ? -1 : valueBytes(reply, pos, eol);
      if (bytes < 0) break; // not a well-formed block: keep the rest as it is
      if (pos > unitStart) units.push(reply.subarray(unitStart, pos));
      unitStart = pos;
      pos = Math.min(reply.length, eol + 1 + bytes + 2);
      continue;
    }
    if (startsWith(reply, pos, END) && pos + END.length === reply.length) {
      if (!lastKeyHit && pos > unitStart) {
        units.push(reply.subarray(unitStart, pos));
        unitStart = pos;
      }
      break;
    }
    const eol = reply.indexOf(0x0a, pos);
    if (eol < 0) break;
    pos = eol + 1;
  }
  if (unitStart < reply.length) units.push(reply.subarray(unitStart));
  return units;
}

/** The <bytes> field (4th token) of a VALUE line in buf[start, eol), or -1. */
function valueBytes(buf: Buffer, start: number, eol: number): number {
  let field = 0;
  let i = start;
  while (i < eol) {
    while (i < eol && buf[i] === 0x20) i++;
    const s = i;
    while (i < eol && buf[i] !== 0x20 && buf[i] !== 0x0d) i++;
    if (i === s) break;
    if (++field === 4) {
      let n = 0;
      for (let j = s; j < i; j++) {
        const d = buf[j] - 0x30;
        if (d < 0 || d > 9) return -1;
        n = n * 10 + d;
      }
      return n;
    }
  }
  return -1;
}

/** The key of the last VALUE block in reply, as a latin1 string, or null. Cold path. */
export function lastValueKey(reply: Buffer): string | null {
  let key: string | null = null;
  let pos = 0;
  while (pos < reply.length && startsWith(reply, pos, VALUE)) {
    const eol = reply.indexOf(0x0a, pos);
    if (eol < 0) break;
    const ks = pos + VALUE.length;
    let ke = ks;
    while (ke < eol && reply[ke] !== 0x20) ke++;
    key = reply.toString('latin1', ks, ke);
    const bytes = valueBytes(reply, pos, eol);
    if (bytes < 0) break;
    pos = eol + 1 + bytes + 2;
  }
  return key;
}

function startsWith(buf: Buffer, at: number, word: Buffer): boolean {
  if (at + word.length > buf.length) return false;
  for (let i = 0; i < word.length; i++) if (buf[at + i] !== word[i]) return false;
  return true;
}
