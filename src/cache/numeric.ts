/**
 * memcached's safe_strtoull over bytes: the number in buf[start, end) as a 64-bit
 * unsigned BigInt, or -1n when memcached would refuse it. Leading whitespace and a
 * sign are accepted as strtoull accepts them; the number must be followed by
 * whitespace or the end; a negative number that doesn't wrap into the signed range
 * is refused (memcached's "-" check). Used for incr/decr deltas and item values.
 */
export const U64_MAX = (1n << 64n) - 1n;

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

export function safeStrtoull(buf: Uint8Array, start: number, end: number): bigint {
  let i = start;
  while (i < end && isSpace(buf[i])) i++;
  let negative = false;
  if (i < end && (buf[i] === 0x2b || buf[i] === 0x2d)) {
    negative = buf[i] === 0x2d;
    i++;
  }
  const digitsStart = i;
  // accumulate in a Number while exact, then switch to BigInt
  let small = 0;
  while (i < end && i - digitsStart < 15) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) break;
    small = small * 10 + d;
    i++;
  }
  let v = BigInt(small);
  while (i < end) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) break;
    v = v * 10n + BigInt(d);
    if (v > U64_MAX) return -1n; // ERANGE
    i++;
  }
  if (i === digitsStart) return -1n;
  if (i < end && !isSpace(buf[i])) return -1n;
  if (negative) {
    v = (-v) & U64_MAX;
    if (v >= 1n << 63n) return -1n;
  }
  return v;
}
