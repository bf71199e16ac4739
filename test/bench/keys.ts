/** Seeded keys and values for benchmarks, built before timing starts. */
export function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** n keys of `len` bytes packed in one buffer: key i is at i * len. */
export function makeKeys(n: number, len: number, seed = 1): Buffer {
  const rnd = splitmix32(seed);
  const buf = Buffer.alloc(n * len);
  for (let i = 0; i < n; i++) {
    const id = `key:${i.toString(36)}:`;
    buf.write(id, i * len, 'latin1');
    for (let j = id.length; j < len; j++) buf[i * len + j] = 0x61 + (rnd() % 26);
  }
  return buf;
}

/** A permutation of 0..n-1, so gets don't walk memory in insertion order. */
export function shuffled(n: number, seed = 2): Uint32Array {
  const rnd = splitmix32(seed);
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rnd() % (i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
