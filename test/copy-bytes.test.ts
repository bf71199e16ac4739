/**
 * Both engine copies against a byte-by-byte reference: every alignment of source
 * and destination, each side shared or private, runs on each side of their length
 * thresholds, and bytes around the destination left untouched.
 */
import test from 'ava';
import { copyPlainBytes, copySharedBytes, type CopyBytes } from '../src/cache/copy-bytes.js';

const SIZE = 80 * 1024;
function filled(shared: boolean, seed: number): Uint8Array {
  const u8 = new Uint8Array(shared ? new SharedArrayBuffer(SIZE) : new ArrayBuffer(SIZE));
  let x = seed;
  for (let i = 0; i < SIZE; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    u8[i] = x >>> 24;
  }
  return u8;
}

function check(t: import('ava').ExecutionContext, copyBytes: CopyBytes, srcShared: boolean, dstShared: boolean, lengths: number[]): void {
  const src = filled(srcShared, 1);
  const dst = filled(dstShared, 2);
  for (const n of lengths) {
    for (let sa = 0; sa < 8; sa++) {
      for (let da = 0; da < 8; da++) {
        const s = 1024 + sa;
        const d = 2048 + da;
        const before = dst.slice();
        copyBytes(src, s, dst, d, n);
        let bad = -1;
        for (let i = 0; i < SIZE && bad < 0; i++) {
          const want = i >= d && i < d + n ? src[s + i - d] : before[i];
          if (dst[i] !== want) bad = i;
        }
        t.is(bad, -1, `n=${n} src+${sa} dst+${da}: first wrong byte at ${bad}`);
      }
    }
  }
}

const LENGTHS = [0, 1, 15, 16, 17, 63, 64, 65, 100, 127, 128, 4096, 40000];

test('shared: from item memory to a private buffer, every alignment', (t) => check(t, copySharedBytes, true, false, LENGTHS));
test('shared: from a private buffer into item memory, every alignment', (t) => check(t, copySharedBytes, false, true, LENGTHS));
test('shared: from one item into another, every alignment', (t) => check(t, copySharedBytes, true, true, LENGTHS));
test('plain: from item memory to a private buffer, every alignment', (t) => check(t, copyPlainBytes, false, false, LENGTHS));
test('plain: between any buffers, every alignment', (t) => {
  check(t, copyPlainBytes, true, false, LENGTHS);
  check(t, copyPlainBytes, false, true, LENGTHS);
  check(t, copyPlainBytes, true, true, LENGTHS);
});
