/**
 * XXH3_64bits (seed 0, the default secret), as memcached 1.6.18's `-o hash_algorithm=xxh3`
 * uses it: the low 32 bits of the 64-bit hash. Keys are at most 250 bytes, so every path
 * up to XXH3's long hash of a single partial block is here, and nothing past it.
 *
 * 64-bit words are (hi, lo) pairs of unsigned 32-bit numbers; each helper leaves its
 * result in HI/LO (module scratch), so a hash makes no object, string or BigInt.
 */

/** XXH3's default 192-byte secret (xxhash.h XXH3_kSecret). */
const SECRET = Uint8Array.from([
  0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
  0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
  0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
  0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
  0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
  0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
  0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
  0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
  0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
  0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
  0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
  0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
]);
const SECRET_SIZE = 192;
const SECRET_SIZE_MIN = 136;
const MIDSIZE_STARTOFFSET = 3;
const MIDSIZE_LASTOFFSET = 17;
const STRIPE_LEN = 64;
const SECRET_LASTACC_START = 7;
const SECRET_MERGEACCS_START = 11;

// primes as (hi, lo)
const P32_1 = 0x9e3779b1, P32_2 = 0x85ebca77, P32_3 = 0xc2b2ae3d;
const P64_1H = 0x9e3779b1, P64_1L = 0x85ebca87;
const P64_2H = 0xc2b2ae3d, P64_2L = 0x27d4eb4f;
const P64_3H = 0x165667b1, P64_3L = 0x9e3779f9;
const P64_4H = 0x85ebca77, P64_4L = 0xc2b2ae63;
const P64_5H = 0x27d4eb2f, P64_5L = 0x165667c5;
const MX1H = 0x16566791, MX1L = 0x9e3779f9;
const MX2H = 0x9fb21c65, MX2L = 0x1e98df25;

let HI = 0;
let LO = 0;

function rd32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

/** 32 x 32 -> 64 bits into HI/LO. */
function mul32(a: number, b: number): void {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  LO = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  HI = (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

/** (ah, al) * (bh, bl) mod 2^64 into HI/LO. */
function mul64(ah: number, al: number, bh: number, bl: number): void {
  mul32(al, bl);
  const cross = (Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
  HI = (HI + cross) >>> 0;
}

/** (ah, al) + (bh, bl) mod 2^64 into HI/LO. */
function add64(ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl;
  LO = lo >>> 0;
  HI = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0;
}

/** The 128-bit product of two 64-bit words, its halves xored (XXH3_mul128_fold64), into HI/LO. */
function mul128Fold64(ah: number, al: number, bh: number, bl: number): void {
  // four 32x32 partial products: ll, lh, hl, hh
  mul32(al, bl);
  const llH = HI, llL = LO;
  mul32(al, bh);
  const lhH = HI, lhL = LO;
  mul32(ah, bl);
  const hlH = HI, hlL = LO;
  mul32(ah, bh);
  const hhH = HI, hhL = LO;
  // bits 32..63: llH + lhL + hlL, carrying into bits 64..
  const m = llH + lhL + hlL;
  const r1 = m >>> 0;
  const carry = Math.floor(m / 0x100000000);
  // bits 64..127: hh + lhH + hlH + carry
  const n = hhL + lhH + hlH + carry;
  const r2 = n >>> 0;
  const r3 = (hhH + Math.floor(n / 0x100000000)) >>> 0;
  LO = (llL ^ r2) >>> 0;
  HI = (r1 ^ r3) >>> 0;
}

/** (h, l) ^ ((h, l) >>> n) into HI/LO. */
function shrXor(h: number, l: number, n: number): void {
  const sl = n < 32 ? ((l >>> n) | (h << (32 - n))) >>> 0 : h >>> (n - 32);
  const sh = n < 32 ? h >>> n : 0;
  HI = (h ^ sh) >>> 0;
  LO = (l ^ sl) >>> 0;
}

/** (h, l) rotated left by n (0 < n < 64) into HI/LO. */
function rotl64(h: number, l: number, n: number): void {
  if (n >= 32) {
    const t = h;
    h = l;
    l = t;
    n -= 32;
  }
  if (n === 0) {
    HI = h;
    LO = l;
    return;
  }
  HI = ((h << n) | (l >>> (32 - n))) >>> 0;
  LO = ((l << n) | (h >>> (32 - n))) >>> 0;
}

/** XXH64_avalanche into HI/LO. */
function xxh64Avalanche(h: number, l: number): void {
  shrXor(h, l, 33);
  mul64(HI, LO, P64_2H, P64_2L);
  shrXor(HI, LO, 29);
  mul64(HI, LO, P64_3H, P64_3L);
  shrXor(HI, LO, 32);
}

/** XXH3_avalanche into HI/LO. */
function xxh3Avalanche(h: number, l: number): void {
  shrXor(h, l, 37);
  mul64(HI, LO, MX1H, MX1L);
  shrXor(HI, LO, 32);
}

/** XXH3_rrmxmx into HI/LO. */
function rrmxmx(h: number, l: number, len: number): void {
  rotl64(h, l, 49);
  let xh = (h ^ HI) >>> 0;
  let xl = (l ^ LO) >>> 0;
  rotl64(h, l, 24);
  xh = (xh ^ HI) >>> 0;
  xl = (xl ^ LO) >>> 0;
  mul64(xh, xl, MX2H, MX2L);
  xh = HI;
  xl = LO;
  // x ^= (x >> 35) + len
  add64(0, xh >>> 3, 0, len);
  xh = (xh ^ HI) >>> 0;
  xl = (xl ^ LO) >>> 0;
  mul64(xh, xl, MX2H, MX2L);
  shrXor(HI, LO, 28);
}

/** mix16B: mul128_fold64 of 16 input bytes xored with 16 secret bytes, into HI/LO. */
function mix16B(b: Uint8Array, i: number, s: number): void {
  mul128Fold64(
    (rd32(b, i + 4) ^ rd32(SECRET, s + 4)) >>> 0, (rd32(b, i) ^ rd32(SECRET, s)) >>> 0,
    (rd32(b, i + 12) ^ rd32(SECRET, s + 12)) >>> 0, (rd32(b, i + 8) ^ rd32(SECRET, s + 8)) >>> 0,
  );
}

/** the 17-to-128-byte path's accumulator */
let AH = 0;
let AL = 0;

/** (AH, AL) += mix16B(b[i..], secret[s..]) */
function mixInto(b: Uint8Array, i: number, s: number): void {
  mix16B(b, i, s);
  add64(AH, AL, HI, LO);
  AH = HI;
  AL = LO;
}

/** the eight accumulators of the long hash, reused: (hi, lo) pairs */
const ACC = new Uint32Array(16);
const ACC_INIT = Uint32Array.from([
  0, P32_3, P64_1H, P64_1L, P64_2H, P64_2L, P64_3H, P64_3L, P64_4H, P64_4L, 0, P32_2, P64_5H, P64_5L, 0, P32_1,
]);

/** XXH3_accumulate_512 (scalar) of the 64-byte stripe at b[i] with the secret at s. */
function accumulate512(b: Uint8Array, i: number, s: number): void {
  for (let k = 0; k < 8; k++) {
    const vl = rd32(b, i + 8 * k);
    const vh = rd32(b, i + 8 * k + 4);
    const kl = (vl ^ rd32(SECRET, s + 8 * k)) >>> 0;
    const kh = (vh ^ rd32(SECRET, s + 8 * k + 4)) >>> 0;
    const j = k ^ 1;
    add64(ACC[2 * j], ACC[2 * j + 1], vh, vl);
    ACC[2 * j] = HI;
    ACC[2 * j + 1] = LO;
    mul32(kl, kh);
    add64(ACC[2 * k], ACC[2 * k + 1], HI, LO);
    ACC[2 * k] = HI;
    ACC[2 * k + 1] = LO;
  }
}

/** XXH3_hashLong_64b for 241 to 1024 bytes: one partial block, no scramble. */
function hashLong(b: Uint8Array, start: number, len: number): void {
  ACC.set(ACC_INIT);
  const stripes = Math.floor((len - 1) / STRIPE_LEN);
  for (let n = 0; n < stripes; n++) accumulate512(b, start + n * STRIPE_LEN, n * 8);
  accumulate512(b, start + len - STRIPE_LEN, SECRET_SIZE - STRIPE_LEN - SECRET_LASTACC_START);
  // mergeAccs, starting from len * PRIME64_1
  mul64(0, len, P64_1H, P64_1L);
  let rh = HI;
  let rl = LO;
  for (let k = 0; k < 4; k++) {
    const s = SECRET_MERGEACCS_START + 16 * k;
    mul128Fold64(
      (ACC[4 * k] ^ rd32(SECRET, s + 4)) >>> 0, (ACC[4 * k + 1] ^ rd32(SECRET, s)) >>> 0,
      (ACC[4 * k + 2] ^ rd32(SECRET, s + 12)) >>> 0, (ACC[4 * k + 3] ^ rd32(SECRET, s + 8)) >>> 0,
    );
    add64(rh, rl, HI, LO);
    rh = HI;
    rl = LO;
  }
  xxh3Avalanche(rh, rl);
}

/** The low 32 bits of XXH3_64bits(buf[start, start + len)), as a signed 32-bit integer. */
export function xxh3Hash(b: Uint8Array, start: number, len: number): number {
  if (len === 0) {
    xxh64Avalanche((rd32(SECRET, 60) ^ rd32(SECRET, 68)) >>> 0, (rd32(SECRET, 56) ^ rd32(SECRET, 64)) >>> 0);
  } else if (len <= 3) {
    const combined = ((b[start] << 16) | (b[start + (len >>> 1)] << 24) | b[start + len - 1] | (len << 8)) >>> 0;
    xxh64Avalanche(0, (combined ^ rd32(SECRET, 0) ^ rd32(SECRET, 4)) >>> 0);
  } else if (len <= 8) {
    const in1 = rd32(b, start);
    const in2 = rd32(b, start + len - 4);
    // input64 = in2 + (in1 << 32), xored with the bitflip
    rrmxmx((in1 ^ rd32(SECRET, 12) ^ rd32(SECRET, 20)) >>> 0, (in2 ^ rd32(SECRET, 8) ^ rd32(SECRET, 16)) >>> 0, len);
  } else if (len <= 16) {
    const loH = (rd32(b, start + 4) ^ rd32(SECRET, 28) ^ rd32(SECRET, 36)) >>> 0;
    const loL = (rd32(b, start) ^ rd32(SECRET, 24) ^ rd32(SECRET, 32)) >>> 0;
    const hiH = (rd32(b, start + len - 4) ^ rd32(SECRET, 44) ^ rd32(SECRET, 52)) >>> 0;
    const hiL = (rd32(b, start + len - 8) ^ rd32(SECRET, 40) ^ rd32(SECRET, 48)) >>> 0;
    // acc = len + swap64(input_lo) + input_hi + mul128_fold64(input_lo, input_hi)
    const swH = (((loL & 0xff) << 24) | ((loL & 0xff00) << 8) | ((loL >>> 8) & 0xff00) | (loL >>> 24)) >>> 0;
    const swL = (((loH & 0xff) << 24) | ((loH & 0xff00) << 8) | ((loH >>> 8) & 0xff00) | (loH >>> 24)) >>> 0;
    add64(0, len, swH, swL);
    add64(HI, LO, hiH, hiL);
    const ah = HI, al = LO;
    mul128Fold64(loH, loL, hiH, hiL);
    add64(ah, al, HI, LO);
    xxh3Avalanche(HI, LO);
  } else if (len <= 128) {
    mul64(0, len, P64_1H, P64_1L);
    AH = HI;
    AL = LO;
    if (len > 32) {
      if (len > 64) {
        if (len > 96) {
          mixInto(b, start + 48, 96);
          mixInto(b, start + len - 64, 112);
        }
        mixInto(b, start + 32, 64);
        mixInto(b, start + len - 48, 80);
      }
      mixInto(b, start + 16, 32);
      mixInto(b, start + len - 32, 48);
    }
    mixInto(b, start, 0);
    mixInto(b, start + len - 16, 16);
    xxh3Avalanche(AH, AL);
  } else if (len <= 240) {
    mul64(0, len, P64_1H, P64_1L);
    let ah = HI, al = LO;
    const rounds = len >>> 4;
    for (let i = 0; i < 8; i++) {
      mix16B(b, start + 16 * i, 16 * i);
      add64(ah, al, HI, LO);
      ah = HI;
      al = LO;
    }
    xxh3Avalanche(ah, al);
    ah = HI;
    al = LO;
    for (let i = 8; i < rounds; i++) {
      mix16B(b, start + 16 * i, 16 * (i - 8) + MIDSIZE_STARTOFFSET);
      add64(ah, al, HI, LO);
      ah = HI;
      al = LO;
    }
    mix16B(b, start + len - 16, SECRET_SIZE_MIN - MIDSIZE_LASTOFFSET);
    add64(ah, al, HI, LO);
    xxh3Avalanche(HI, LO);
  } else {
    hashLong(b, start, len);
  }
  return LO | 0;
}
