/**
 * The key hashes `-o hash_algorithm` picks from, as memcached 1.6.18 has them: murmur3
 * (MurmurHash3 x86_32, the default, in hash-index.ts), jenkins (Bob Jenkins' lookup3
 * hashlittle, memcached's jenkins_hash.c, and no_modern's choice) and xxh3 (the low 32
 * bits of XXH3_64bits, in xxh3-hash.ts). Each maps (buf, start, len) to a signed 32-bit
 * integer and makes no string or object. The hash decides bucket order, which shows in
 * `stats detail dump`, so it must be memcached's bit for bit.
 */
import { hashKey, type KeyHash } from './hash-index.js';
import { xxh3Hash } from './xxh3-hash.js';

export type HashAlgorithm = 'murmur3' | 'jenkins' | 'xxh3';

export function keyHashFor(name: HashAlgorithm | undefined): KeyHash {
  if (name === 'jenkins') return jenkinsHash;
  if (name === 'xxh3') return xxh3Hash;
  return hashKey;
}

/** lookup3's final(): mixes three words into c. */
const rot = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

/** Bob Jenkins' lookup3 hashlittle() with initval 0, as memcached's jenkins_hash(). */
export function jenkinsHash(k: Uint8Array, start: number, length: number): number {
  let a = (0xdeadbeef + length) | 0;
  let b = a;
  let c = a;
  let i = start;
  let n = length;
  while (n > 12) {
    a = (a + (k[i] | (k[i + 1] << 8) | (k[i + 2] << 16) | (k[i + 3] << 24))) | 0;
    b = (b + (k[i + 4] | (k[i + 5] << 8) | (k[i + 6] << 16) | (k[i + 7] << 24))) | 0;
    c = (c + (k[i + 8] | (k[i + 9] << 8) | (k[i + 10] << 16) | (k[i + 11] << 24))) | 0;
    // mix(a, b, c)
    a = (a - c) | 0; a ^= rot(c, 4); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rot(a, 6); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rot(b, 8); b = (b + a) | 0;
    a = (a - c) | 0; a ^= rot(c, 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rot(a, 19); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rot(b, 4); b = (b + a) | 0;
    n -= 12;
    i += 12;
  }
  // the last 1 to 12 bytes, as lookup3's fall-through switch adds them: byte j of the
  // twelve goes into a, b or c (j / 4) at bit 8 * (j % 4)
  if (n === 0) return c; // zero length: no final mix
  for (let j = n - 1; j >= 0; j--) {
    const v = k[i + j] << ((j & 3) << 3);
    if (j >= 8) c = (c + v) | 0;
    else if (j >= 4) b = (b + v) | 0;
    else a = (a + v) | 0;
  }
  // final(a, b, c)
  c ^= b; c = (c - rot(b, 14)) | 0;
  a ^= c; a = (a - rot(c, 11)) | 0;
  b ^= a; b = (b - rot(a, 25)) | 0;
  c ^= b; c = (c - rot(b, 16)) | 0;
  a ^= c; a = (a - rot(c, 4)) | 0;
  b ^= a; b = (b - rot(a, 14)) | 0;
  c ^= b; c = (c - rot(b, 24)) | 0;
  return c;
}
