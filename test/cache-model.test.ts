/**
 * Model test: random operation sequences against a Map-based model of memcached's
 * semantics. With ample memory the engine and the model agree exactly; with little
 * memory every answer is one the model allows (eviction may lose items, but a hit
 * returns exactly the last stored bytes, never other bytes).
 */
import test from 'ava';
import fc from 'fast-check';
import { NIL } from '../src/cache/memory.js';
import {
  DELETED, EXISTS, NOT_FOUND, NOT_STORED, NREAD_ADD, NREAD_APPEND, NREAD_CAS, NREAD_PREPEND,
  NREAD_REPLACE, NREAD_SET, OK, STORED, NON_NUMERIC,
} from '../src/cache/status.js';
import { safeStrtoull, U64_MAX } from '../src/cache/numeric.js';
import { k, makeCache, MB, valueOf } from './cache-fixture.js';

/** memcached's item size beyond key and value with CAS (ITEM_ntotal): what -I bounds */
const MEMCACHED_OVERHEAD = 59;
import { ArithResult } from '../src/cache/arith.js';

/** the caller's incr/decr result, as a connection owns one */
const ar = new ArithResult();

interface Entry { value: Buffer; flags: number; exp: number; cas: number }

const KEYS = ['a', 'b', 'key:c', 'd'.repeat(250), 'e\u0000f', 'g'];

const valueArb = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) },
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: U64_MAX }).map((n) => Buffer.from(n.toString())) },
  { weight: 1, arbitrary: fc.integer({ min: 500_000, max: 700_000 }).map((n) => Buffer.alloc(n, n & 0xff)) },
);

const opArb = fc.oneof(
  fc.record({ op: fc.constantFrom('set', 'add', 'replace', 'append', 'prepend'), key: fc.constantFrom(...KEYS), value: valueArb, flags: fc.nat(), exp: fc.constantFrom(0, 0, 2, 5, -1) }),
  fc.record({ op: fc.constant('cas'), key: fc.constantFrom(...KEYS), value: valueArb, good: fc.boolean() }),
  fc.record({ op: fc.constantFrom('get', 'delete'), key: fc.constantFrom(...KEYS) }),
  fc.record({ op: fc.constantFrom('incr', 'decr'), key: fc.constantFrom(...KEYS), delta: fc.bigInt({ min: 0n, max: U64_MAX }) }),
  fc.record({ op: fc.constantFrom('touch', 'gat'), key: fc.constantFrom(...KEYS), exp: fc.constantFrom(0, 3, -1) }),
  fc.record({ op: fc.constant('tick'), seconds: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ op: fc.constant('flush') }),
);

type Op = { op: string; key?: string; value?: Buffer; flags?: number; exp?: number; good?: boolean; delta?: bigint; seconds?: number };

function run(ops: Op[], maxbytes: number, exact: boolean): void {
  const { cache, clock } = makeCache({ maxbytes, itemSizeMax: MB });
  const model = new Map<string, Entry>();
  const live = (key: string): Entry | undefined => {
    const e = model.get(key);
    if (e && e.exp !== 0 && e.exp <= clock.now) {
      model.delete(key);
      return undefined;
    }
    return e;
  };
  const relExp = (exp: number): number => (exp === 0 ? 0 : exp < 0 ? 1 : clock.now + exp);
  const fail = (msg: string): never => {
    throw new Error(msg);
  };
  /** the engine missed where the model has the key: allowed only under eviction */
  const missed = (key: string, what: string): void => {
    if (exact) fail(`${what} ${JSON.stringify(key)}: engine lost the item`);
    model.delete(key);
  };
  const record = (key: string, value: Buffer, flags: number, exp: number): void => {
    const h = cache.peek(k(key), 0, key.length);
    if (h === NIL) fail('stored item not found');
    model.set(key, { value, flags, exp, cas: cache.cas(h) });
  };

  for (const o of ops) {
    const key = o.key ?? '';
    const kb = k(key);
    const e = o.key !== undefined ? live(key) : undefined;
    switch (o.op) {
      case 'set': case 'add': case 'replace': case 'append': case 'prepend': {
        const mode = { set: NREAD_SET, add: NREAD_ADD, replace: NREAD_REPLACE, append: NREAD_APPEND, prepend: NREAD_PREPEND }[o.op]!;
        const v = o.value!;
        const st = cache.set(mode, kb, 0, kb.length, o.flags!, o.exp!, v, 0, v.length);
        const tooBig = MEMCACHED_OVERHEAD + kb.length + v.length > MB;
        if (o.op === 'set' || (o.op === 'add' && !e) || (o.op === 'replace' && e)) {
          if (tooBig) { if (st === STORED) fail('stored an oversize item'); model.delete(key); break; }
          if (st !== STORED) { if (exact) fail(`${o.op} gave ${st}`); model.delete(key); break; }
          if (o.exp! < 0) model.delete(key);
          else record(key, v, o.flags!, relExp(o.exp!));
        } else if (o.op === 'add' || o.op === 'replace') {
          if (st === STORED && o.op === 'add') { if (exact) fail('add over a live key'); record(key, v, o.flags!, relExp(o.exp!)); }
          else if (st === STORED) fail('replace of a missing key');
        } else if (!e) {
          if (st !== NOT_STORED) fail(`${o.op} on a missing key gave ${st}`);
        } else {
          const joined = o.op === 'append' ? Buffer.concat([e.value, v]) : Buffer.concat([v, e.value]);
          if (st === STORED) record(key, joined, e.flags, e.exp);
          else if (MEMCACHED_OVERHEAD + kb.length + joined.length > MB) { if (st !== NOT_STORED) fail('oversize append'); }
          else missed(key, o.op);
        }
        break;
      }
      case 'cas': {
        const v = o.value!;
        const cas = e ? (o.good ? e.cas : e.cas + 1) : 12345;
        const st = cache.set(NREAD_CAS, kb, 0, kb.length, 0, 0, v, 0, v.length, cas);
        const tooBig = MEMCACHED_OVERHEAD + kb.length + v.length > MB;
        if (tooBig) { if (st === STORED) fail('oversize cas'); model.delete(key); break; }
        if (!e) { if (st !== NOT_FOUND && !(exact === false && st !== STORED)) fail(`cas on missing gave ${st}`); }
        else if (st === NOT_FOUND) missed(key, 'cas');
        else if (o.good) { if (st === STORED) record(key, v, 0, 0); else if (exact) fail(`good cas gave ${st}`); else model.delete(key); }
        else if (st !== EXISTS) fail(`bad cas gave ${st}`);
        break;
      }
      case 'get': {
        const h = cache.get(kb, 0, kb.length);
        if (h === NIL) { if (e) missed(key, 'get'); break; }
        if (!e) fail(`get ${key}: hit on a key the model doesn't have`);
        if (!valueOf(cache, h).equals(e!.value)) fail(`get ${key}: wrong bytes`);
        if (cache.flags(h) !== e!.flags >>> 0) fail('wrong flags');
        if (cache.cas(h) !== e!.cas) fail('wrong cas');
        break;
      }
      case 'delete': {
        const st = cache.delete(kb, 0, kb.length);
        if (e && st !== DELETED) missed(key, 'delete');
        if (!e && st !== NOT_FOUND) fail('deleted a missing key');
        model.delete(key);
        break;
      }
      case 'incr': case 'decr': {
        const st = cache.arith(kb, 0, kb.length, o.op === 'incr', o.delta!, ar);
        if (!e) { if (st !== NOT_FOUND) fail(`${o.op} on missing gave ${st}`); break; }
        if (st === NOT_FOUND) { missed(key, o.op); break; }
        const cur = e.value.length === 0 || e.value.length > 512 * 1024 ? -1n : safeStrtoull(e.value, 0, e.value.length);
        if (cur < 0n) { if (st !== NON_NUMERIC) fail(`${o.op} on non-number gave ${st}`); break; }
        if (st !== OK) { if (exact) fail(`${o.op} gave ${st}`); model.delete(key); break; }
        const next = o.op === 'incr' ? (cur + o.delta!) & U64_MAX : o.delta! > cur ? 0n : cur - o.delta!;
        if (ar.toBigInt() !== next) fail('wrong arith result');
        const digits = Buffer.from(next.toString());
        const stored = digits.length <= e.value.length ? Buffer.concat([digits, Buffer.alloc(e.value.length - digits.length, 0x20)]) : digits;
        record(key, stored, e.flags, e.exp);
        break;
      }
      case 'touch': case 'gat': {
        const h = o.op === 'touch' ? cache.touch(kb, 0, kb.length, o.exp!) : cache.gat(kb, 0, kb.length, o.exp!);
        if (h === NIL) { if (e) missed(key, o.op); break; }
        if (!e) fail(`${o.op} hit a missing key`);
        if (o.op === 'gat' && !valueOf(cache, h).equals(e!.value)) fail('gat: wrong bytes');
        e!.exp = relExp(o.exp!);
        if (o.exp! < 0) model.delete(key);
        break;
      }
      case 'tick':
        clock.advance(o.seconds!);
        break;
      case 'flush':
        cache.flush(0);
        model.clear();
        break;
    }
  }
  // every key the model still has must read back exactly (ample memory) or be gone
  for (const key of KEYS) {
    const e = live(key);
    const h = cache.get(k(key), 0, key.length);
    if (h !== NIL && (!e || !valueOf(cache, h).equals(e.value))) fail(`final ${key}: wrong`);
    if (h === NIL && e && exact) fail(`final ${key}: lost`);
  }
}

test('with ample memory the engine agrees with the model exactly', (t) => {
  fc.assert(fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => run(ops as Op[], 64 * MB, true)), { numRuns: 300 });
  t.pass();
});

test('with little memory every answer is one the model allows', (t) => {
  fc.assert(fc.property(fc.array(opArb, { maxLength: 200 }), (ops) => run(ops as Op[], 2 * MB, false)), { numRuns: 300 });
  t.pass();
});
