/**
 * The hash table grows in place: bucket i splits into i and i + 2^(p-1) while a
 * cursor says which buckets have split. Sets and deletes land before, on and after
 * the cursor while it moves; every key must stay findable and no deleted one come back.
 */
import test from 'ava';
import fc from 'fast-check';
import { NREAD_SET, DELETED, NOT_FOUND } from '../src/cache/status.js';
import { getS, k, makeCache, MB, setS } from './cache-fixture.js';

const opArb = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), key: fc.integer({ min: 0, max: 3000 }), v: fc.nat(99) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 3000 }), v: fc.constant(0) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('migrate' as const), key: fc.constant(0), v: fc.constant(0) }) },
);

test('sets and deletes during in-place expansion keep the index equal to a model', (t) => {
  fc.assert(fc.property(fc.array(opArb, { minLength: 500, maxLength: 4000 }), fc.boolean(), (ops, expand) => {
    const { cache } = makeCache({ maxbytes: 64 * MB, hashpowerInit: 4, hashExpand: expand });
    const model = new Map<number, string>();
    for (const { op, key, v } of ops) {
      const name = 'key' + key;
      if (op === 'set') {
        setS(cache, NREAD_SET, name, `${key}:${v}`);
        model.set(key, `${key}:${v}`);
      } else if (op === 'delete') {
        const kb = k(name);
        const st = cache.delete(kb, 0, kb.length);
        if (st !== (model.has(key) ? DELETED : NOT_FOUND)) return false;
        model.delete(key);
      } else {
        cache.maintain();
      }
    }
    if (cache.index.items !== model.size || cache.counters.curr_items !== model.size) return false;
    if (!expand && cache.index.hashpower !== 4) return false;
    for (let key = 0; key <= 3000; key++) if (getS(cache, 'key' + key) !== (model.get(key) ?? null)) return false;
    return true;
  }), { numRuns: 40 });
  t.pass();
});
