/**
 * memcached's binary protocol constants (protocol_binary.h names) and the reply
 * header encoder. Every reply is a 24-byte header:
 *
 *   0 magic 0x81 | 1 opcode | 2-3 key length | 4 extras length | 5 datatype 0
 *   6-7 status   | 8-11 total body length    | 12-15 opaque (echoed as sent)
 *   16-23 CAS
 *
 * followed by extras, key and value.
 */
import type { Output } from './output.js';

export const PROTOCOL_BINARY_REQ = 0x80;
export const PROTOCOL_BINARY_RES = 0x81;
export const HEADER_LEN = 24;
/** cyrus-sasl's limit on a mechanism name; longer gets EINVAL */
export const MAX_SASL_MECH_LEN = 32;

export const CMD_GET = 0x00;
export const CMD_SET = 0x01;
export const CMD_ADD = 0x02;
export const CMD_REPLACE = 0x03;
export const CMD_DELETE = 0x04;
export const CMD_INCREMENT = 0x05;
export const CMD_DECREMENT = 0x06;
export const CMD_QUIT = 0x07;
export const CMD_FLUSH = 0x08;
export const CMD_GETQ = 0x09;
export const CMD_NOOP = 0x0a;
export const CMD_VERSION = 0x0b;
export const CMD_GETK = 0x0c;
export const CMD_GETKQ = 0x0d;
export const CMD_APPEND = 0x0e;
export const CMD_PREPEND = 0x0f;
export const CMD_STAT = 0x10;
export const CMD_SETQ = 0x11;
export const CMD_ADDQ = 0x12;
export const CMD_REPLACEQ = 0x13;
export const CMD_DELETEQ = 0x14;
export const CMD_INCREMENTQ = 0x15;
export const CMD_DECREMENTQ = 0x16;
export const CMD_QUITQ = 0x17;
export const CMD_FLUSHQ = 0x18;
export const CMD_APPENDQ = 0x19;
export const CMD_PREPENDQ = 0x1a;
export const CMD_TOUCH = 0x1c;
export const CMD_GAT = 0x1d;
export const CMD_GATQ = 0x1e;
export const CMD_SASL_LIST_MECHS = 0x20;
export const CMD_SASL_AUTH = 0x21;
export const CMD_SASL_STEP = 0x22;
export const CMD_GATK = 0x23;
export const CMD_GATKQ = 0x24;

export const RESPONSE_SUCCESS = 0x00;
export const RESPONSE_KEY_ENOENT = 0x01;
export const RESPONSE_KEY_EEXISTS = 0x02;
export const RESPONSE_E2BIG = 0x03;
export const RESPONSE_EINVAL = 0x04;
export const RESPONSE_NOT_STORED = 0x05;
export const RESPONSE_DELTA_BADVAL = 0x06;
export const RESPONSE_AUTH_ERROR = 0x20;
export const RESPONSE_AUTH_CONTINUE = 0x21;
export const RESPONSE_UNKNOWN_COMMAND = 0x81;
export const RESPONSE_ENOMEM = 0x82;

/**
 * The quiet opcode's loud twin (memcached's dispatch rewrites c->cmd this way and
 * sets noreply), or -1 for opcodes that have no quiet form.
 */
export const QUIET_OF: Int16Array = (() => {
  const t = new Int16Array(256).fill(-1);
  t[CMD_SETQ] = CMD_SET; t[CMD_ADDQ] = CMD_ADD; t[CMD_REPLACEQ] = CMD_REPLACE;
  t[CMD_DELETEQ] = CMD_DELETE; t[CMD_INCREMENTQ] = CMD_INCREMENT; t[CMD_DECREMENTQ] = CMD_DECREMENT;
  t[CMD_QUITQ] = CMD_QUIT; t[CMD_FLUSHQ] = CMD_FLUSH; t[CMD_APPENDQ] = CMD_APPEND;
  t[CMD_PREPENDQ] = CMD_PREPEND; t[CMD_GETQ] = CMD_GET; t[CMD_GETKQ] = CMD_GETK;
  t[CMD_GATQ] = CMD_GAT; t[CMD_GATKQ] = CMD_GATK;
  return t;
})();

/** write_bin_error's texts, indexed by status; made once at load. */
const ERROR_TEXT = new Map<number, Buffer>([
  [RESPONSE_ENOMEM, Buffer.from('Out of memory')],
  [RESPONSE_UNKNOWN_COMMAND, Buffer.from('Unknown command')],
  [RESPONSE_KEY_ENOENT, Buffer.from('Not found')],
  [RESPONSE_EINVAL, Buffer.from('Invalid arguments')],
  [RESPONSE_KEY_EEXISTS, Buffer.from('Data exists for key.')],
  [RESPONSE_E2BIG, Buffer.from('Too large.')],
  [RESPONSE_DELTA_BADVAL, Buffer.from('Non-numeric server-side value for incr or decr')],
  [RESPONSE_NOT_STORED, Buffer.from('Not stored.')],
  [RESPONSE_AUTH_ERROR, Buffer.from('Auth failure.')],
]);
// indexed copy so the hot path does no Map lookup
const ERROR_BY_STATUS: (Buffer | undefined)[] = [];
for (const [k, v] of ERROR_TEXT) ERROR_BY_STATUS[k] = v;

const TWO32 = 4294967296;

/**
 * HEADER_LEN and PROTOCOL_BINARY_RES as unexported consts, which header() has folded in: an
 * exported binding is read through its module cell at every use, even in this module.
 */
const REPLY_HEADER_LEN = HEADER_LEN;
const RES_MAGIC = PROTOCOL_BINARY_RES;

/**
 * Appends a reply header. `cas` is a Number below 2^53 (the engine's CAS).
 *
 * Written as 24 byte stores with Output's room checked here: every reply pays for
 * this, and the inliner, its budget spent on the engine calls of a get, left a
 * helper per 32-bit field and Output.reserve() as calls (about 75 and 150
 * instructions each, against some 4 a store).
 */
export function header(out: Output, opcode: number, status: number, keylen: number, extlen: number,
  bodylen: number, opaque: number, cas: number): void {
  if (out.len + REPLY_HEADER_LEN > out.buf.length) out.reserve(REPLY_HEADER_LEN);
  const b = out.buf;
  const p = out.len;
  // byte stores: writeUInt32BE and friends check their arguments on every call
  b[p] = RES_MAGIC;
  b[p + 1] = opcode;
  b[p + 2] = keylen >>> 8;
  b[p + 3] = keylen;
  b[p + 4] = extlen;
  b[p + 5] = 0;
  b[p + 6] = status >>> 8;
  b[p + 7] = status;
  b[p + 8] = bodylen >>> 24;
  b[p + 9] = bodylen >>> 16;
  b[p + 10] = bodylen >>> 8;
  b[p + 11] = bodylen;
  b[p + 12] = opaque >>> 24;
  b[p + 13] = opaque >>> 16;
  b[p + 14] = opaque >>> 8;
  b[p + 15] = opaque;
  // a CAS below 2^32 (all but the longest-lived servers') needs no float division
  const hi = cas < TWO32 ? 0 : Math.floor(cas / TWO32);
  const lo = cas - hi * TWO32;
  b[p + 16] = hi >>> 24;
  b[p + 17] = hi >>> 16;
  b[p + 18] = hi >>> 8;
  b[p + 19] = hi;
  b[p + 20] = lo >>> 24;
  b[p + 21] = lo >>> 16;
  b[p + 22] = lo >>> 8;
  b[p + 23] = lo;
  out.len = p + REPLY_HEADER_LEN;
}

/** write_bin_error: status plus memcached's text for it, CAS 0. */
export function errorReply(out: Output, opcode: number, status: number, opaque: number): void {
  const text = ERROR_BY_STATUS[status];
  const n = text === undefined ? 0 : text.length;
  header(out, opcode, status, 0, 0, n, opaque, 0);
  if (text !== undefined) out.bytes(text);
}

/**
 * Big-endian fields of a request whose bytes the caller has checked are there. Byte
 * loads: a Buffer read method is a generic property load and a call per field, and
 * range-checks what the caller already did.
 */
export function u16At(buf: Uint8Array, p: number): number {
  return (buf[p] << 8) | buf[p + 1];
}
export function u32At(buf: Uint8Array, p: number): number {
  return ((buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]) >>> 0;
}

/** The 64-bit CAS in buf at p as a Number (exact below 2^53, which engine CAS stays under). */
export function readCas(buf: Buffer, p: number): number {
  return u32At(buf, p) * TWO32 + u32At(buf, p + 4);
}
