/**
 * Differential fuzz: random and mutated sessions of classic text, meta and binary
 * requests, each played on a new connection to memcached 1.6.18 and to slabcache,
 * whose replies must be the same bytes (CAS values and the version masked), closed
 * or left open the same way. A session slabcache leaves unanswered where memcached
 * answered is a hang; the daemon must be alive and serving at the end.
 *
 * Seeded and reproducible. `npm test` runs a bounded number of sessions; a longer
 * run for a benchmark machine:
 *
 *   FUZZ_SESSIONS=20000 FUZZ_SEED=7 npx ava dist/test/differential-fuzz.test.js
 *
 * A failure names the seed and the session, and shows both transcripts.
 *
 * Known differences, each explained in docs/limits.md (see known() below):
 * - when memcached closes with request bytes still unread (quit, a line or header it
 *   will not read, bad magic), its kernel answers with a reset, which may destroy
 *   replies it had just sent; we read those bytes and close cleanly, so the client
 *   gets every reply, unless its own close races more bytes from the client (after a
 *   quit), when its kernel resets too. Both closed, one side's replies a prefix of the
 *   other's: known.
 * - memcached sends a binary error reply (unknown command, too large) only once it
 *   has swallowed the body that follows; we send it at once. With a body that never
 *   comes, both wait, and memcached's client has seen less: known.
 * - a binary store whose header is damaged in more than one field: memcached waits or
 *   closes without a word, we answer E2BIG, then wait or close: known in exactly that
 *   shape (tooLargeWhereMemcachedWaits()).
 * - `me` prints our item size, slab class and CAS, which differ by design (docs/stats.md):
 *   masked, as CAS values are everywhere.
 * - meta flags that came after 1.6.18 (`E` on every command, `x` on md) are served
 *   (docs/protocol.md); 1.6.18 refuses them. Sessions that send one are not compared.
 */
import { test } from './helpers/thread-variants.js';
import net from 'node:net';
import { startMemcached, startSlabcache } from './helpers/memcached.js';
import { readSession, type KeptOpen } from './helpers/kept-open.js';
import { arithExt, exchange, type Exchange, ext, masked, pkt, sentinel } from './binary-client.js';

/** protocol_binary.h's PROTOCOL_BINARY_RESPONSE_E2BIG */
const RESPONSE_E2BIG = 0x03;

const SEED = Number(process.env.FUZZ_SEED ?? 0x0d1ff);
const SESSIONS = Number(process.env.FUZZ_SESSIONS ?? 300);
/** a session memcached leaves waiting for bytes waits this long on both */
const WAIT_MS = 1000;
/** where memcached answered, slabcache has this long before it counts as a hang (a loaded machine is slow) */
const HANG_MS = 15_000;
const PARALLEL = 12;

function rng(seed: number): () => number {
  let s = (seed >>> 0) || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

type R = () => number;
const pick = <T>(r: R, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: R, n: number): number => Math.floor(r() * n);

/** A value: mostly short, sometimes long enough to be chained or cross reads. */
function value(r: R): string {
  const n = r() < 0.9 ? int(r, 40) : r() < 0.7 ? int(r, 4000) : 600_000 + int(r, 10_000);
  return pick(r, ['a', '1', ' ', 'z']).repeat(n);
}

function number(r: R): string {
  return pick(r, ['0', '1', '42', '-1', '18446744073709551615', '18446744073709551616', 'x', '007', '4294967296', '']);
}

function textRequest(r: R, key: () => string): string {
  const k = key();
  const noreply = r() < 0.15 ? ' noreply' : '';
  switch (int(r, 16)) {
    case 0: case 1: case 2: {
      const v = value(r);
      const len = r() < 0.9 ? v.length : v.length + int(r, 5) - 2;
      return `${pick(r, ['set', 'add', 'replace', 'append', 'prepend'])} ${k} ${int(r, 100)} 0 ${len}${noreply}\r\n${v}\r\n`;
    }
    case 3: {
      const v = value(r);
      return `cas ${k} 0 0 ${v.length} ${pick(r, ['1', '999999', 'x'])}${noreply}\r\n${v}\r\n`;
    }
    case 4: case 5:
      return `${pick(r, ['get', 'gets', 'bget'])} ${Array.from({ length: 1 + int(r, r() < 0.1 ? 30 : 4) }, key).join(' ')}\r\n`;
    case 6:
      return `${pick(r, ['gat', 'gats'])} ${pick(r, ['0', 'x', '-1'])} ${k}\r\n`;
    case 7:
      return `${pick(r, ['incr', 'decr'])} ${k} ${number(r)}${noreply}\r\n`;
    case 8:
      return `delete ${k}${pick(r, ['', ' 0', ' 1', ' noreply', ' 0 noreply'])}\r\n`;
    case 9:
      return `touch ${k} ${pick(r, ['0', 'x'])}${noreply}\r\n`;
    case 10:
      return pick(r, ['version\r\n', 'verbosity 1\r\n', 'mn\r\n', 'bogus\r\n', '\r\n', 'get\r\n', 'set\r\n', 'quit\r\n']);
    case 11: {
      const flags = ['v', 'f', 'c', 's', 'k', 'q', 'O123', 'T0', 'N0', 'b', 'I', 'z'];
      return `mg ${k} ${Array.from({ length: int(r, 5) }, () => pick(r, flags)).join(' ')}\r\n`;
    }
    case 12: {
      const v = value(r);
      const flags = ['F5', 'c', 'k', 'q', 'O1', 'I', 'MA', 'MP', 'MR', 'MS', 'ME', 'C999', 'T0', 'b', 'z'];
      const len = r() < 0.9 ? String(v.length) : pick(r, ['x', '-1', String(v.length + 1)]);
      return `ms ${k} ${len} ${Array.from({ length: int(r, 4) }, () => pick(r, flags)).join(' ')}\r\n${v}\r\n`;
    }
    case 13: {
      const flags = ['q', 'C999', 'I', 'k', 'O7', 'T0', 'z'];
      return `md ${k} ${Array.from({ length: int(r, 3) }, () => pick(r, flags)).join(' ')}\r\n`;
    }
    case 14: {
      const flags = ['N0', 'J13', 'D5', 'MI', 'MD', 'v', 'q', 'C999999', 'c', 't', 'k', 'z'];
      return `ma ${k} ${Array.from({ length: int(r, 4) }, () => pick(r, flags)).join(' ')}\r\n`;
    }
    default:
      return pick(r, ['me ', 'mn', 'GET / HTTP/1.1', 'get a\u0000b', 'set a 0 0']) + (r() < 0.5 ? k : '') + '\r\n';
  }
}

/** Byte-level damage: flip, insert, delete, or repeat a piece. */
function mutate(r: R, b: Buffer): Buffer {
  let out = Buffer.from(b);
  for (let n = 1 + int(r, 3); n > 0 && out.length > 0; n--) {
    const at = int(r, out.length);
    const what = r();
    const byte = pick(r, [0x20, 0x0d, 0x0a, 0x00, 0x30 + int(r, 10), int(r, 256), 0x80]);
    if (what < 0.4) out[at] = byte;
    else if (what < 0.7) out = Buffer.concat([out.subarray(0, at), Buffer.from([byte]), out.subarray(at)]);
    else if (what < 0.9) out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
    else out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + int(r, 40)), out.subarray(at)]);
  }
  return out;
}

const BIN_OPS = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x11,
  0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x19, 0x1a, 0x1c, 0x1d, 0x1e, 0x50];

function binaryRequest(r: R, key: () => string): Buffer {
  const op = pick(r, BIN_OPS);
  const k = key();
  const v = value(r);
  const cas = r() < 0.2 ? BigInt(int(r, 1000) + 999_000) : 0n;
  const opaque = int(r, 1000);
  switch (op) {
    case 0x01: case 0x02: case 0x03: case 0x11: case 0x12: case 0x13:
      return pkt({ op, key: k, extras: ext(int(r, 10), 0), value: v, cas, opaque });
    case 0x05: case 0x06: case 0x15: case 0x16:
      return pkt({ op, key: k, extras: arithExt(BigInt(int(r, 100)), 5n, r() < 0.3 ? 0xffffffff : 0), cas, opaque });
    case 0x0e: case 0x0f: case 0x19: case 0x1a:
      return pkt({ op, key: k, value: v, cas, opaque });
    case 0x1c: case 0x1d: case 0x1e:
      return pkt({ op, key: k, extras: ext(0), opaque });
    case 0x0a: case 0x0b: case 0x07: case 0x17:
      return pkt({ op, opaque });
    default:
      return pkt({ op, key: k, opaque });
  }
}

/** A header is where binary bugs live: damage its length fields more often. */
function mutateBinary(r: R, b: Buffer): Buffer {
  const out = Buffer.from(b);
  const what = r();
  if (what < 0.3) out.writeUInt16BE(int(r, r() < 0.5 ? 300 : 0x10000), 2);
  else if (what < 0.55) out.writeUInt32BE(int(r, r() < 0.5 ? 0x100 : 0x100000000), 8);
  else if (what < 0.7) out[4] = int(r, 256);
  else return mutate(r, out);
  return out;
}

interface Outcome extends KeptOpen<Outcome> {
  text: string; closed: boolean; timedOut: boolean;
}

/** A meta command with a flag newer than 1.6.18: E<cas>, or x. */
const NEWER_FLAGS = /^m[gsda] [^\r\n]*? (E\S*|x)(?= |\r|\n|$)/m;

/**
 * Both closed, and one client's replies are a prefix of the other's (a reset ate the
 * rest), or both left waiting for bytes (memcached holds a binary error reply until
 * it has swallowed the body) and memcached's client got a prefix of ours.
 */
function known(theirs: string, ours: string): boolean {
  const end = (x: string): string => x.slice(x.lastIndexOf('\n') + 1);
  const cut = (x: string): string => x.slice(0, Math.max(0, x.lastIndexOf('\n')));
  const how = end(theirs);
  if (how !== end(ours)) return false;
  if (how === 'timeout' || how === 'unanswered') return cut(ours).startsWith(cut(theirs));
  // a reset can reach either client: data that arrives after a daemon closed resets
  // the connection, on our side too when a quit is followed by more requests
  return how === 'closed' && (cut(ours).startsWith(cut(theirs)) || cut(theirs).startsWith(cut(ours)));
}

/**
 * A binary store whose header is damaged in more than one field (a body length past
 * 2^31 with extras on an append, say): memcached says nothing and waits, or closes;
 * we answer E2BIG ("Too large.") and then wait or close, depending on what the rest of
 * the session parses as. Known only in exactly that shape: memcached sent no reply at
 * all, and every reply of ours is E2BIG.
 */
function tooLargeWhereMemcachedWaits(theirs: Exchange, ours: Exchange): boolean {
  return theirs.replies.length === 0 && (theirs.timedOut || theirs.closed) && ours.replies.length > 0
    && ours.replies.every((r) => r.status === RESPONSE_E2BIG) && (ours.timedOut || ours.closed);
}

/**
 * Sends a text session and reads until its `mn` is answered, the server closes, or
 * WAIT_MS. With `keepOpen`, a timed-out connection stays open for waitClose() or end().
 */
function textExchange(port: number, bytes: Buffer, waitMs = WAIT_MS, keepOpen = false): Promise<Outcome> {
  const s = net.connect(port, '127.0.0.1');
  // an mn inside the session is answered too: wait for as many MN as mn lines were sent
  const want = (bytes.toString('latin1').match(/(?<=^|\n)mn\r?\n/g) ?? []).length;
  const session = readSession<Outcome>(s, waitMs, keepOpen,
    (got) => {
      const text = Buffer.concat(got).toString('latin1');
      return text.endsWith('MN\r\n') && text.split('MN\r\n').length - 1 >= want;
    },
    (got, closed, timedOut) => ({ text: Buffer.concat(got).toString('latin1'), closed, timedOut }));
  s.on('connect', () => s.write(bytes));
  return session;
}

/** CAS values differ between the daemons' histories: compare without them. */
function maskText(o: Outcome): string {
  const t = o.text
    .replace(/^(VALUE \S+ \d+ \d+) \d+/gm, '$1 <cas>')
    .replace(/^VERSION [^\r\n]*/gm, 'VERSION <v>')
    // me shows our item size and slab class, which differ by design (docs/stats.md), and clocks
    .replace(/^ME \S+ [^\r\n]*/gm, (line) => line.replace(/ (la|cas|cls|size)=\d+/g, ' $1=<n>'))
    .replace(/^(VA \d+|HD|EN|NF|NS|EX)( [^\r\n]*)?$/gm, (line) => line.replace(/ c\d+/g, ' c<cas>'));
  return `${t}\n${o.closed ? 'closed' : o.timedOut ? 'unanswered' : 'open'}`;
}

/**
 * memcached's side timed out and ours closed: on a loaded machine memcached's close
 * (or this process's turn to see it) can come after WAIT_MS, so it gets the hang
 * window on the same connection before the two are compared. A memcached that
 * really leaves the connection open still times out, and the difference stands.
 */
async function memcachedsClose<T extends { timedOut: boolean; waitClose?(ms: number): Promise<T>; end?(): void }>(
  theirs: T, oursClosed: boolean): Promise<T> {
  if (theirs.timedOut && oursClosed && theirs.waitClose) return theirs.waitClose(HANG_MS);
  theirs.end?.();
  return theirs;
}

test('differential fuzz: text, meta and binary sessions answer as memcached 1.6.18 does', async (t) => {
  const args = ['-m', '64'];
  const [mc, sc] = await Promise.all([startMemcached(t, args), startSlabcache(t, args)]);
  const r = rng(SEED);
  let diffs = 0;
  let unanswered = 0;
  // every session is drawn first, so the seed alone decides them whatever the timing
  const sessions: { name: string; run: () => Promise<void> }[] = [];
  for (let j = 0; j < SESSIONS; j++) {
    // keys of their own per session, so one session's state never reaches another
    const key = (): string => `s${j}_${int(r, 4)}`;
    const binary = r() < 0.3;
    const n = 1 + int(r, 6);
    const parts: Buffer[] = [];
    for (let q = 0; q < n; q++) {
      const req = binary ? binaryRequest(r, key) : Buffer.from(textRequest(r, key), 'latin1');
      parts.push(r() < 0.35 ? (binary ? mutateBinary(r, req) : mutate(r, req)) : req);
    }
    const name = `session ${j} (FUZZ_SEED=${SEED})`;
    if (binary) {
      const script = [...parts, sentinel()];
      sessions.push({ name, run: async () => {
        // memcached first: where it answers, slabcache gets HANG_MS to answer too
        let a = await exchange(mc.port, script, WAIT_MS, undefined, true);
        const b = await exchange(sc.port, script, a.timedOut ? WAIT_MS : HANG_MS);
        a = await memcachedsClose(a, b.closed);
        if (b.timedOut && !a.timedOut) unanswered++;
        if (known(masked(a), masked(b)) || tooLargeWhereMemcachedWaits(a, b)) return;
        if (masked(a) !== masked(b)) diffs++;
        t.is(masked(b), masked(a), `${name}: ${Buffer.concat(parts).toString('hex').slice(0, 400)}`);
      } });
    } else {
      const bytes = Buffer.concat([...parts, Buffer.from('mn\r\n')]);
      if (NEWER_FLAGS.test(bytes.toString('latin1'))) continue;
      sessions.push({ name, run: async () => {
        let a = await textExchange(mc.port, bytes, WAIT_MS, true);
        const b = await textExchange(sc.port, bytes, a.timedOut ? WAIT_MS : HANG_MS);
        a = await memcachedsClose(a, b.closed);
        if (b.timedOut && !a.timedOut) unanswered++;
        if (known(maskText(a), maskText(b))) return;
        if (maskText(a) !== maskText(b)) diffs++;
        t.is(maskText(b), maskText(a), `${name}: ${JSON.stringify(bytes.toString('latin1').slice(0, 400))}`);
      } });
    }
  }
  // PARALLEL sessions at a time, each worker taking the next as it finishes
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < sessions.length && diffs < 3) {
      const s = sessions[next++];
      await s.run();
      t.is(sc.exited(), null, `slabcache alive after ${s.name}`);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  t.is(unanswered, 0, 'sessions memcached answered and slabcache left hanging');
  // still serving, and nothing thrown inside it
  const after = await textExchange(sc.port, Buffer.from('set after 0 0 2\r\nok\r\nget after\r\nmn\r\n'));
  t.is(after.text, 'STORED\r\nVALUE after 0 2\r\nok\r\nEND\r\nMN\r\n');
  t.notRegex(sc.output(), /Error|exception|assert/i);
});
