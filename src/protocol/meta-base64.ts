/**
 * memcached's base64 for meta keys (`b`): its decoder (Jouni Malinen's, as in
 * memcached's base64.c) skips bytes that are not base64, wants the rest in fours
 * and stops after the first padded block; its encoder writes standard base64
 * with padding and no line breaks.
 */
import type { Output } from './output.js';

const B64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');
/** value of each byte, 0x80 for bytes that are not base64 (and skipped) */
const B64_DECODE = new Uint8Array(256).fill(0x80);
for (let i = 0; i < 64; i++) B64_DECODE[B64[i]] = i;
B64_DECODE[0x3d] = 0; // '='

/**
 * memcached's base64_decode (Jouni Malinen's): bytes that are not base64 are
 * skipped, the rest must come in fours, decoding stops after the first padded
 * block, bad padding fails. Returns the decoded length, 0 on failure.
 */
export function base64Decode(src: Uint8Array, s: number, e: number, out: Uint8Array): number {
  let count = 0;
  for (let i = s; i < e; i++) if (B64_DECODE[src[i]] !== 0x80) count++;
  if (count === 0 || count % 4 !== 0) return 0;
  if ((count / 4) * 3 > out.length) return 0;
  let pos = 0;
  let n = 0;
  let pad = 0;
  let b0 = 0;
  let b1 = 0;
  let b2 = 0;
  for (let i = s; i < e; i++) {
    const c = src[i];
    const t = B64_DECODE[c];
    if (t === 0x80) continue;
    if (c === 0x3d) pad++;
    if (n === 0) b0 = t;
    else if (n === 1) b1 = t;
    else if (n === 2) b2 = t;
    n++;
    if (n === 4) {
      out[pos++] = ((b0 << 2) | (b1 >> 4)) & 0xff;
      out[pos++] = ((b1 << 4) | (b2 >> 2)) & 0xff;
      out[pos++] = ((b2 << 6) | t) & 0xff;
      n = 0;
      if (pad) {
        if (pad === 1) pos--;
        else if (pad === 2) pos -= 2;
        else return 0;
        break;
      }
    }
  }
  return pos;
}

/** Standard base64 with padding and no line breaks, written into out. */
export function base64EncodeTo(out: Output, src: Uint8Array, s: number, e: number): void {
  out.reserve(Math.ceil((e - s) / 3) * 4);
  const b = out.buf;
  let p = out.len;
  let i = s;
  for (; e - i >= 3; i += 3) {
    const x = (src[i] << 16) | (src[i + 1] << 8) | src[i + 2];
    b[p++] = B64[x >> 18];
    b[p++] = B64[(x >> 12) & 63];
    b[p++] = B64[(x >> 6) & 63];
    b[p++] = B64[x & 63];
  }
  if (e - i === 1) {
    const x = src[i] << 16;
    b[p++] = B64[x >> 18];
    b[p++] = B64[(x >> 12) & 63];
    b[p++] = 0x3d;
    b[p++] = 0x3d;
  } else if (e - i === 2) {
    const x = (src[i] << 16) | (src[i + 1] << 8);
    b[p++] = B64[x >> 18];
    b[p++] = B64[(x >> 12) & 63];
    b[p++] = B64[(x >> 6) & 63];
    b[p++] = 0x3d;
  }
  out.len = p;
}
