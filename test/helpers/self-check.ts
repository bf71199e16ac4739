/**
 * Self-checking values: `key:version:` then filler bytes drawn from both, then an
 * 8-hex-digit checksum of everything before it. A torn, mixed-up or misplaced value
 * fails checkValue().
 */

function fnv1a(b: Uint8Array, end: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < end; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

/** A value of at least `len` bytes for `key` at `version`. */
export function selfCheckingValue(key: Buffer, version: number, len: number): Buffer {
  const head = `${key.toString('latin1')}:${version}:`;
  const body = Math.max(0, len - head.length - 8);
  const b = Buffer.alloc(head.length + body + 8);
  b.write(head, 0, 'latin1');
  for (let i = 0; i < body; i++) b[head.length + i] = 97 + ((version * 31 + i + key.length) % 26);
  b.write(fnv1a(b, head.length + body).toString(16).padStart(8, '0'), head.length + body, 'latin1');
  return b;
}

/** The value's version, or what is wrong with it. */
export function checkValue(key: Buffer, v: Buffer): number | string {
  if (v.length < 8) return `${v.length} bytes: too short`;
  const sum = v.toString('latin1', v.length - 8);
  if (fnv1a(v, v.length - 8).toString(16).padStart(8, '0') !== sum) return 'checksum does not match (torn)';
  const text = v.toString('latin1', 0, v.length - 8);
  const k = key.toString('latin1');
  if (!text.startsWith(k + ':')) return `holds another key's value (${text.slice(0, 40)})`;
  const version = Number(text.slice(k.length + 1, text.indexOf(':', k.length + 1)));
  if (!Number.isInteger(version) || version < 1) return 'no version';
  const again = selfCheckingValue(key, version, v.length);
  if (!again.equals(v)) return 'filler does not match its key and version';
  return version;
}
