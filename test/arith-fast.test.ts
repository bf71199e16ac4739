/**
 * incr/decr without per-request BigInts: the Number fast path (values, deltas and
 * results below 2^53) and the BigInt path above it must agree with a BigInt model
 * of memcached's do_add_delta over the whole u64 range; the three protocols must
 * answer byte for byte as memcached 1.6.18 does at the edges; and 1,000,000
 * pipelined incrs must allocate next to nothing.
 */
import net from 'node:net';
import v8 from 'node:v8';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { NON_NUMERIC, NOT_FOUND, OK, NREAD_SET } from '../src/cache/status.js';
import { NOT_U64, strtoullU64, u64FromHalves, type U64 } from '../src/cache/numeric.js';
import { getS, k, makeCache, setS } from './cache-fixture.js';
import { playBoth, type ScriptItem } from './helpers/differential.js';
import { startMemcached, startSlabcache } from './helpers/memcached.js';
import { arithExt, exchange, ext, masked, pkt, sentinel } from './binary-client.js';
import { daemon } from './server-fixture.js';
import { runBatches } from './helpers/batches.js';
import { ArithResult } from '../src/cache/arith.js';

/** the caller's incr/decr result, as a connection owns one */
const ar = new ArithResult();

const U64_MAX = (1n << 64n) - 1n;
const TWO53 = 1n << 53n;

// ---- the model: memcached's safe_strtoull and do_add_delta, in BigInts ----

const SPACE = /^[ \t\n\v\f\r]$/;
/** a NUL ends the number too: C's string ends there */
const ENDS = /^[ \t\n\v\f\r\0]$/;

/** safe_strtoull over a whole item value (it ends where the value ends), or null. */
function modelStrtoull(s: string): bigint | null {
  let i = 0;
  while (i < s.length && SPACE.test(s[i])) i++;
  let neg = false;
  if (s[i] === '+' || s[i] === '-') neg = s[i++] === '-';
  const ds = i;
  while (i < s.length && s[i] >= '0' && s[i] <= '9') i++;
  if (i === ds) return null;
  if (i < s.length && !ENDS.test(s[i])) return null;
  const mag = BigInt(s.slice(ds, i));
  if (mag > U64_MAX) return null; // ERANGE
  const v = neg ? (-mag) & U64_MAX : mag;
  if (neg && v >= 1n << 63n) return null; // negative as a long long, and has a '-'
  return v;
}

/** What the protocols hand the engine: a Number below 2^53, else a BigInt. */
const asU64 = (v: bigint): U64 => (v < TWO53 ? Number(v) : v);

// ---- generators weighted to the edges ----

const EDGES = [0n, 1n, 2n, 9n, 10n, (1n << 32n) - 1n, 1n << 32n, (1n << 32n) + 1n, TWO53 - 1n, TWO53, TWO53 + 1n,
  1n << 63n, U64_MAX - 1n, U64_MAX];
const clampU64 = (v: bigint): bigint => (v < 0n ? 0n : v > U64_MAX ? U64_MAX : v);
const u64 = fc.oneof(
  { arbitrary: fc.constantFrom(...EDGES), weight: 4 },
  { arbitrary: fc.tuple(fc.constantFrom(...EDGES), fc.integer({ min: -3, max: 3 })).map(([e, d]) => clampU64(e + BigInt(d))), weight: 3 },
  { arbitrary: fc.bigInt({ min: 0n, max: 1000n }), weight: 2 },
  { arbitrary: fc.bigInt({ min: 0n, max: TWO53 * 4n }), weight: 1 },
  { arbitrary: fc.bigInt({ min: 0n, max: U64_MAX }), weight: 3 },
);
/** Item values: numbers with leading zeros, signs, spaces an earlier decr left, junk, overflow. */
const valueText = fc.oneof(
  { arbitrary: u64.map(String), weight: 4 },
  {
    arbitrary: fc.record({
      v: u64, zeros: fc.nat(4), over: fc.boolean(),
      lead: fc.constantFrom('', '', ' ', '\t', '+', '-', ' -'), trail: fc.constantFrom('', '', ' ', '   ', 'x', '\r', '\0'),
    }).map(({ v, zeros, over, lead, trail }) => lead + '0'.repeat(zeros) + String(over && v > 1000n ? v + U64_MAX + 1n : v) + trail),
    weight: 4,
  },
  { arbitrary: fc.string({ unit: fc.constantFrom('0', '1', '9', ' ', '-', '+', 'a'), maxLength: 24 }), weight: 1 },
);
const op = fc.record({ incr: fc.boolean(), delta: u64, bigDelta: fc.boolean() });

test('arith agrees with a BigInt model of do_add_delta across the u64 range', (t) => {
  const { cache } = makeCache();
  const key = k('n');
  let runs = 0;
  fc.assert(fc.property(valueText, fc.array(op, { minLength: 1, maxLength: 6 }), (text, ops) => {
    setS(cache, NREAD_SET, 'n', text);
    let stored = text;
    for (const o of ops) {
      // a BigInt delta below 2^53 must work too (the engine API takes either)
      const delta = o.bigDelta ? o.delta : asU64(o.delta);
      const st = cache.arith(key, 0, 1, o.incr, delta, ar);
      const v = modelStrtoull(stored);
      if (v === null) {
        if (st !== NON_NUMERIC) throw new Error(`${JSON.stringify(stored)}: status ${st}, want NON_NUMERIC`);
        if (getS(cache, 'n') !== stored) throw new Error('a refused value changed');
        continue;
      }
      const next = o.incr ? (v + o.delta) & U64_MAX : o.delta > v ? 0n : v - o.delta;
      const digits = next.toString();
      // no longer than the old value: in place, padded with spaces (memcached's quirk)
      stored = digits.length <= stored.length ? digits.padEnd(stored.length, ' ') : digits;
      const r = ar;
      const got = Buffer.from(r.digits.subarray(0, r.len)).toString('latin1');
      if (st !== OK) throw new Error(`${JSON.stringify(stored)} ${o.incr ? 'incr' : 'decr'} ${o.delta}: status ${st}`);
      if (got !== digits || r.toBigInt() !== next) throw new Error(`digits ${got} / ${r.toBigInt()}, want ${digits}`);
      if (getS(cache, 'n') !== stored) throw new Error(`item ${JSON.stringify(getS(cache, 'n'))}, want ${JSON.stringify(stored)}`);
    }
    runs++;
  }), { numRuns: 3000, seed: 0x5eed, endOnFailure: true });
  t.is(runs, 3000);
});

test('arith with an initial value creates the item holding it, in Numbers or BigInts', (t) => {
  const { cache } = makeCache();
  let i = 0;
  fc.assert(fc.property(u64, u64, fc.boolean(), (initial, delta, incr) => {
    const key = `c${i++}`;
    const kb = k(key);
    if (cache.arith(kb, 0, kb.length, incr, asU64(delta), ar) !== NOT_FOUND) throw new Error('miss without initial');
    if (cache.arith(kb, 0, kb.length, incr, asU64(delta), ar, asU64(initial), 0) !== OK) throw new Error('create failed');
    if (ar.toBigInt() !== initial || getS(cache, key) !== String(initial)) throw new Error(`created ${getS(cache, key)}, want ${initial}`);
  }), { numRuns: 1000, seed: 7 });
  t.pass();
});

test('strtoullU64 is safe_strtoull: a Number below 2^53, a BigInt above, -1 when refused', (t) => {
  fc.assert(fc.property(valueText, (text) => {
    const b = Buffer.from(text, 'latin1');
    const got = strtoullU64(b, 0, b.length);
    const want = modelStrtoull(text);
    if (want === null ? got !== NOT_U64 : got !== asU64(want)) throw new Error(`${JSON.stringify(text)}: ${got}, want ${want}`);
  }), { numRuns: 5000, seed: 11 });
  fc.assert(fc.property(u64, (v) => {
    const got = u64FromHalves(Number(v >> 32n), Number(v & 0xffffffffn));
    if (got !== asU64(v)) throw new Error(`halves of ${v}: ${got}`);
  }), { numRuns: 2000, seed: 13 });
  t.pass();
});

// ---- the protocols against memcached 1.6.18 ----

const CASES = [
  '9007199254740991', '9007199254740992', '4294967295', '4294967296', '18446744073709551615', '18446744073709551614',
  '00042', '+42', '-0', '-18446744073709551615', '0000000000000000000000000000007', '9223372036854775808',
];

test('text incr/decr at the edges match memcached byte for byte', async (t) => {
  const script: ScriptItem[] = [];
  for (const v of CASES) {
    script.push(`set n 0 0 ${v.length}\r\n${v}\r\n`, 'incr n 1\r\n', 'get n\r\n', 'decr n 2\r\n', 'get n\r\n');
  }
  script.push(
    'set n 0 0 16\r\n9007199254740990\r\n', 'incr n 1\r\n', 'incr n 1\r\n', 'incr n 1\r\n', 'decr n 3\r\n', 'get n\r\n',
    'incr n 9007199254740993\r\n', 'decr n 9007199254740993\r\n', 'decr n 18446744073709551615\r\n', 'get n\r\n',
    'set n 0 0 3\r\n100\r\n', 'decr n 1\r\n', 'get n\r\n', 'incr n 1\r\n', 'get n\r\n', 'incr n 900\r\n', 'get n\r\n',
    'set n 0 0 20\r\n18446744073709551615\r\n', 'incr n 1\r\n', 'get n\r\n', 'incr n 18446744073709551615\r\n',
    'incr n 4294967296\r\n', 'incr n 00000000000000000000000001\r\n', 'incr n +5\r\n', 'incr n -0\r\n',
    'incr n 9007199254740992\r\n', 'incr n 1 noreply\r\n', 'get n\r\n', 'incr n 18446744073709551616\r\n',
    'incr n -1\r\n', 'incr n 1x\r\n', 'set n 0 0 4\r\n12 3\r\n', 'incr n 1\r\n', 'get n\r\n',
    'set n 0 0 4\r\n 7  \r\n', 'incr n 1\r\n', 'get n\r\n', 'set n 0 0 2\r\n1-\r\n', 'incr n 1\r\n',
    // memcached reads the value as a C string: a NUL ends the number
    'set n 0 0 4\r\n12\0a\r\n', 'incr n 1\r\n', 'get n\r\n', 'set n 0 0 2\r\n\0\0\r\n', 'incr n 1\r\n',
  );
  await playBoth(t, script, { mask: { cas: true } });
});

test('ma at the edges matches memcached byte for byte', async (t) => {
  await playBoth(t, [
    'ma m N0 J9007199254740991 v\r\n', 'ma m v\r\n', 'ma m v\r\n', 'ma m v MD D2\r\n', 'mg m v\r\n',
    'ma m v D18446744073709551615\r\n', 'ma m v MD D9007199254740993\r\n', 'mg m v\r\n',
    'ma w N0 J18446744073709551615 v\r\n', 'ma w v\r\n', 'mg w v\r\n', 'ma w v D4294967296\r\n',
    'ma w v D00000000000000000000000007\r\n', 'ma w v D+3\r\n', 'ma w v D-0\r\n', 'ma w q D1\r\n', 'mg w v\r\n',
    'ma x N0 J00042 v\r\n', 'ma x v MD D100\r\n', 'ma x v D-1\r\n', 'ma x v J-1\r\n', 'ma x v D18446744073709551616\r\n',
  ], { mask: { cas: true } });
});

test('binary incr/decr at the edges match memcached byte for byte', async (t) => {
  const [mc, sc] = await Promise.all([startMemcached(t), startSlabcache(t)]);
  const INCR = 0x05;
  const DECR = 0x06;
  const a = (op: number, key: string, delta: bigint, initial = 0n, exptime = 0): Buffer =>
    pkt({ op, key, extras: arithExt(delta, initial, exptime) });
  const script = [
    a(INCR, 'b1', 1n, TWO53 - 1n), a(INCR, 'b1', 1n), a(INCR, 'b1', 1n), a(DECR, 'b1', 3n), pkt({ op: 0x00, key: 'b1' }),
    a(INCR, 'b2', 5n, U64_MAX), a(INCR, 'b2', 1n), a(INCR, 'b2', U64_MAX), a(DECR, 'b2', TWO53 + 1n),
    a(INCR, 'b3', 1n, (1n << 32n) - 1n), a(INCR, 'b3', 1n), a(INCR, 'b3', 1n << 32n), a(DECR, 'b3', U64_MAX),
    a(INCR, 'b4', 0x1fffffn << 32n, 0n), a(INCR, 'b4', 0x1fffffn << 32n), a(INCR, 'b4', 0x200000n << 32n),
    a(INCR, 'b5', 1n, 0n, 0xffffffff), a(0x15, 'b1', 1n), a(0x16, 'b1', 1n), pkt({ op: 0x00, key: 'b1' }),
    pkt({ op: 0x01, key: 'b6', extras: ext(0, 0), value: '00000000000000000009' }), a(INCR, 'b6', 1n), pkt({ op: 0x00, key: 'b6' }),
    pkt({ op: 0x01, key: 'b7', extras: ext(0, 0), value: '9007199254740991 ' }), a(INCR, 'b7', 1n), pkt({ op: 0x00, key: 'b7' }),
    sentinel(),
  ];
  const [want, got] = await Promise.all([exchange(mc.port, script), exchange(sc.port, script)]);
  t.is(masked(got), masked(want));
  t.false(want.timedOut);
});

// ---- allocation: 1,000,000 pipelined incrs ----

const KEYS = 100;
const PER_KEY = 10;
const BATCH_REQS = KEYS * PER_KEY;
const WARM_BATCHES = 100;
const GET_BATCHES = 300;
const INCR_BATCHES = 1000; // 1,000,000 incrs measured
const HEAP_SLACK = 2 * 1024 * 1024;
/**
 * How many more bytes an incr may allocate than a get of the same key, over the
 * same socket, with counters V8 holds as small integers: both pay for socket reads,
 * output flushes and key hashing, and nothing else.
 */
const EXTRA_PER_INCR_MAX = 8;
/**
 * The same past 2^31, where counters are doubles to V8. Optimized code keeps them
 * unboxed, but in some processes V8 settles on code that boxes one number per incr
 * (a 16-byte HeapNumber: seen as 12-16 bytes more than a get in about one run in
 * five). A BigInt is 24 bytes or more and its arithmetic makes several, so a BigInt
 * per incr still fails this bound.
 */
const EXTRA_PER_INCR_MAX_PAST_2_31 = 20;

const gc = (globalThis as { gc?: () => void }).gc;

function digitCount(n: number): number {
  let d = 1;
  for (; n >= 10; n = Math.floor(n / 10)) d++;
  return d;
}

function heapAfterGc(): number {
  for (let i = 0; i < 4; i++) gc!();
  return process.memoryUsage().heapUsed;
}

/**
 * Runs `body` under the GC profiler and returns the bytes it allocated on the JS
 * heap: used heap at each GC's start minus where the previous GC left it.
 */
async function allocatedBy(body: () => Promise<void>): Promise<{ bytes: number; gcs: number }> {
  const profiler = new v8.GCProfiler();
  let last = v8.getHeapStatistics().used_heap_size;
  profiler.start();
  await body();
  const end = v8.getHeapStatistics().used_heap_size;
  const stats = profiler.stop().statistics;
  let bytes = 0;
  for (const s of stats) {
    bytes += s.beforeGC.heapStatistics.usedHeapSize - last;
    last = s.afterGC.heapStatistics.usedHeapSize;
  }
  return { bytes: bytes + end - last, gcs: stats.length };
}

/** 1,000,000 pipelined incrs of counters from START on, against gets of the same keys. */
async function incrAllocation(t: ExecutionContext, START: number, extraMax: number): Promise<void> {
  t.truthy(gc, 'run with --expose-gc (package.json ava.nodeArguments)');
  // one event handles a whole batch, so per-read costs don't drown per-request ones
  const d = await daemon(t, { reqsPerEvent: BATCH_REQS });
  const sock = net.connect(d.ports[0], '127.0.0.1');
  t.teardown(() => sock.destroy());
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  let setup = '';
  let incrs = '';
  let gets = '';
  for (let i = 0; i < KEYS; i++) {
    const key = `c${String(i).padStart(3, '0')}`;
    setup += `set ${key} 0 0 ${String(START).length} noreply\r\n${START}\r\n`;
    for (let j = 0; j < PER_KEY; j++) {
      incrs += `incr ${key} 1\r\n`;
      gets += `get ${key}\r\n`;
    }
  }
  sock.write(setup);
  const incrBatch = Buffer.from(incrs);
  const getBatch = Buffer.from(gets);
  // incr batch b answers START + b*PER_KEY + 1 .. + PER_KEY for every key
  const incrReplies = (b: number): number => {
    let n = 0;
    for (let j = 1; j <= PER_KEY; j++) n += digitCount(START + b * PER_KEY + j) + 2;
    return n * KEYS;
  };
  // VALUE cNNN 0 <len>\r\n<value>\r\nEND\r\n
  const getReplies = (value: number): number => {
    const len = digitCount(value);
    return BATCH_REQS * ('VALUE c000 0 '.length + digitCount(len) + 2 + len + 2 + 'END\r\n'.length);
  };

  await runBatches(sock, incrBatch, WARM_BATCHES, incrReplies);
  const counter = START + WARM_BATCHES * PER_KEY;
  await runBatches(sock, getBatch, WARM_BATCHES, () => getReplies(counter));
  heapAfterGc();
  const get = await allocatedBy(() => runBatches(sock, getBatch, GET_BATCHES, () => getReplies(counter)));
  const before = heapAfterGc();
  const incr = await allocatedBy(() => runBatches(sock, incrBatch, INCR_BATCHES, incrReplies, WARM_BATCHES));
  const after = heapAfterGc();

  const perGet = get.bytes / (GET_BATCHES * BATCH_REQS);
  const perIncr = incr.bytes / (INCR_BATCHES * BATCH_REQS);
  t.log(`allocated per request: get ${perGet.toFixed(2)} B (${get.gcs} GCs), incr ${perIncr.toFixed(2)} B (${incr.gcs} GCs);`
    + ` heap used after GC ${(before / 1e6).toFixed(2)} -> ${(after / 1e6).toFixed(2)} MB over ${INCR_BATCHES * BATCH_REQS} incrs`);
  t.true(perIncr - perGet < extraMax, `an incr allocates ${(perIncr - perGet).toFixed(2)} bytes more than a get`);
  t.true(after - before < HEAP_SLACK, `heap used grew by ${after - before} bytes`);
}

test.serial('1,000,000 pipelined incrs allocate no more than gets and leave heap flat', async (t) => {
  await incrAllocation(t, 1_000_000, EXTRA_PER_INCR_MAX);
});

test.serial('past 2^31 (doubles to V8) incrs make no BigInt and leave heap flat', async (t) => {
  // counters start just below 2^32 so they cross it
  await incrAllocation(t, 4294967290, EXTRA_PER_INCR_MAX_PAST_2_31);
});
