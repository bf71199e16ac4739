/**
 * Self-checking values, and a record of which writes were acknowledged when, to judge every
 * read made while other clients write:
 *
 * - a value carries its key, its version and a checksum, and its filler bytes follow from
 *   (key, version): a torn value (bytes of two writes), a value of another key or another
 *   version's bytes under this version's header all fail `decodeValue`;
 * - the client flags of a value are its version, so flags from another write show too;
 * - `History` knows, for each key, the highest version sent and the highest acknowledged.
 *   A read may return a version only if it was sent, and not older than the newest one
 *   acknowledged before the read was sent (stale); after a `flush_all` was acknowledged, not
 *   one acknowledged before the flush was sent. A miss is a problem unless the test says
 *   misses are allowed (eviction, flush) or the key was never acknowledged.
 *
 * Each key has one writer, so its versions are written in order.
 */

const FILLER = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** FNV-1a, 32 bits: enough to catch torn or mixed bytes. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function filler(key: string, version: number, length: number): string {
  const seed = fnv1a(key) ^ Math.imul(version, 0x9e3779b1);
  let out = '';
  for (let i = 0; i < length; i++) out += FILLER[((seed >>> (i % 23)) + i * 7 + version) % FILLER.length];
  return out;
}

/** `key|version|filler|checksum`, `size` bytes long (longer if key and version need more). */
export function encodeValue(key: string, version: number, size: number): string {
  const head = `${key}|${version}|`;
  const body = head + filler(key, version, Math.max(1, size - head.length - 9));
  return `${body}|${fnv1a(body).toString(16).padStart(8, '0')}`;
}

/** The version a value carries, or what is wrong with it. */
export function decodeValue(key: string, data: string): { version: number } | { problem: string } {
  const show = data.length > 60 ? `${data.slice(0, 40)}...(${data.length} bytes)` : data;
  const bar = data.lastIndexOf('|');
  if (bar < 0) return { problem: `${key}: no checksum in "${show}"` };
  const body = data.slice(0, bar);
  if (fnv1a(body).toString(16).padStart(8, '0') !== data.slice(bar + 1)) return { problem: `${key}: checksum does not match (torn or damaged value) "${show}"` };
  const [k, v] = body.split('|', 2);
  if (k !== key) return { problem: `asked for ${key}, got the value of ${k}` };
  const version = Number(v);
  if (!Number.isSafeInteger(version) || version < 1) return { problem: `${key}: bad version "${v}"` };
  const head = `${k}|${v}|`;
  if (body.slice(head.length) !== filler(key, version, body.length - head.length)) return { problem: `${key} v${version}: filler of another write under this header` };
  return { version };
}

interface Flush {
  /** acknowledged versions when the flush was sent: none of these may be read after its ack */
  floor: Map<string, number>;
  acked: boolean;
}

/** Floors captured when a read is sent. */
export interface ReadToken {
  floor: Map<string, number>;
  flushFloor: Map<string, number> | null;
}

export class History {
  private readonly sent = new Map<string, number>();
  private readonly acked = new Map<string, number>();
  private readonly flushes: Flush[] = [];
  readonly problems: string[] = [];
  hits = 0;
  misses = 0;

  constructor(private readonly missesAllowed: boolean) {}

  /** The next version of `key` to write (its writer calls this, then sends it). */
  nextVersion(key: string): number {
    const v = (this.sent.get(key) ?? 0) + 1;
    this.sent.set(key, v);
    return v;
  }

  /** The set of `key` at `version` was answered `reply`. */
  ackWrite(key: string, version: number, reply: string): void {
    if (reply !== 'STORED') {
      this.problem(`set ${key} v${version} answered "${reply}"`);
      return;
    }
    if (version <= (this.acked.get(key) ?? 0)) this.problem(`${key}: v${version} acknowledged after v${this.acked.get(key)}`);
    this.acked.set(key, version);
  }

  /** Call just before sending a read of `keys`. */
  beginRead(keys: readonly string[]): ReadToken {
    const floor = new Map<string, number>();
    for (const k of keys) floor.set(k, this.acked.get(k) ?? 0);
    let last: Flush | undefined;
    for (let i = this.flushes.length - 1; i >= 0 && last === undefined; i--) if (this.flushes[i].acked) last = this.flushes[i];
    return { floor, flushFloor: last?.floor ?? null };
  }

  /** Call just before sending `flush_all`; call the result once it is answered OK. */
  beginFlush(): () => void {
    const f: Flush = { floor: new Map(this.acked), acked: false };
    this.flushes.push(f);
    return () => {
      f.acked = true;
    };
  }

  /** Judge one key's read: `data` and `flags` of the hit, or null for a miss. */
  checkRead(token: ReadToken, key: string, data: string | null, flags: number | null): void {
    const floor = token.floor.get(key) ?? 0;
    if (data === null) {
      this.misses++;
      if (!this.missesAllowed && floor > 0) this.problem(`${key}: miss, though v${floor} was acknowledged before the read`);
      return;
    }
    this.hits++;
    const d = decodeValue(key, data);
    if ('problem' in d) {
      this.problem(d.problem);
      return;
    }
    if (flags !== null && flags !== d.version) this.problem(`${key} v${d.version}: flags ${flags}, written as ${d.version}`);
    const sent = this.sent.get(key) ?? 0;
    if (d.version > sent) this.problem(`${key}: read v${d.version}, only v${sent} was ever sent`);
    if (d.version < floor) this.problem(`${key}: read v${d.version}, stale: v${floor} was acknowledged before the read was sent`);
    const flushed = token.flushFloor?.get(key) ?? 0;
    if (d.version <= flushed) this.problem(`${key}: read v${d.version} after a flush_all that was sent after v${flushed} was acknowledged`);
  }

  problem(p: string): void {
    if (this.problems.length < 20) this.problems.push(p);
  }
}
