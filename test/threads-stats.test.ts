/**
 * `stats` at -t 4 sums every worker's counters: random mixes of commands (fast-check), sent
 * at once from clients on every worker, move cmd_get, cmd_set, get_hits, get_misses,
 * delete_misses, incr_hits, incr_misses, curr_items, total_connections and curr_connections
 * by exactly what was sent.
 */
import test from 'ava';
import fc from 'fast-check';
import { counters, startThreaded, untilStats } from './helpers/threaded.js';
import { TextPipe, type TextReply } from './helpers/text-pipe.js';

const PRESENT = 50; // keys p:0..49 exist; a:* keys never do
const CLIENTS_PER_WORKER = 2;

type Op =
  | { kind: 'get'; present: number; absent: number }
  | { kind: 'set' }
  | { kind: 'delete-missing' }
  | { kind: 'incr-hit' }
  | { kind: 'incr-miss' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('get' as const), present: fc.integer({ min: 0, max: 6 }), absent: fc.integer({ min: 0, max: 6 }) }).filter((g) => g.present + g.absent > 0),
  fc.constant({ kind: 'set' as const }),
  fc.constant({ kind: 'delete-missing' as const }),
  fc.constant({ kind: 'incr-hit' as const }),
  fc.constant({ kind: 'incr-miss' as const }),
);

const NAMES = ['cmd_get', 'cmd_set', 'get_hits', 'get_misses', 'delete_misses', 'incr_hits', 'incr_misses', 'curr_items', 'total_connections', 'curr_connections'] as const;
type Counts = Record<(typeof NAMES)[number], number>;

test('stats totals over 4 workers equal the operations sent (random command mixes)', async (t) => {
  const s = await startThreaded(t, ['-m', '64']);
  const clients = await s.pinned<TextPipe>(t, CLIENTS_PER_WORKER);
  const setup = Array.from({ length: PRESENT }, (_, i) => `set p:${i} 0 0 1\r\n${i % 10}\r\n`).join('') + clients.map((_, c) => `set n:${c} 0 0 1\r\n0\r\n`).join('');
  for (const r of await s.control.batch(setup, PRESENT + clients.length)) t.deepEqual(r, { kind: 'line', line: 'STORED' });
  let run = 0;

  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.nat(clients.length - 1), opArb), { minLength: 1, maxLength: 300 }), fc.nat(3), async (plan, extraConns) => {
      run++;
      const before = (await counters(s.control, NAMES)) as Counts;
      const want: Counts = { cmd_get: 0, cmd_set: 0, get_hits: 0, get_misses: 0, delete_misses: 0, incr_hits: 0, incr_misses: 0, curr_items: 0, total_connections: extraConns, curr_connections: 0 };
      const perClient: string[][] = clients.map(() => []);
      const expected: string[][] = clients.map(() => []);
      let n = 0;
      for (const [c, op] of plan) {
        n++;
        const req = perClient[c];
        const exp = expected[c];
        switch (op.kind) {
          case 'get': {
            const keys = [...Array.from({ length: op.present }, (_, i) => `p:${(n + i) % PRESENT}`), ...Array.from({ length: op.absent }, (_, i) => `a:${run}:${n}:${i}`)];
            req.push(`get ${keys.join(' ')}\r\n`);
            exp.push(`values:${op.present}`);
            want.cmd_get += keys.length;
            want.get_hits += op.present;
            want.get_misses += op.absent;
            break;
          }
          case 'set':
            req.push(`set s:${run}:${n} 0 0 2\r\nok\r\n`);
            exp.push('STORED');
            want.cmd_set++;
            want.curr_items++;
            break;
          case 'delete-missing':
            req.push(`delete a:${run}:${n}\r\n`);
            exp.push('NOT_FOUND');
            want.delete_misses++;
            break;
          case 'incr-hit':
            req.push(`incr n:${c} 1\r\n`);
            exp.push('number');
            want.incr_hits++;
            break;
          case 'incr-miss':
            req.push(`incr a:${run}:${n} 1\r\n`);
            exp.push('NOT_FOUND');
            want.incr_misses++;
            break;
        }
      }
      const extra = await Promise.all(Array.from({ length: extraConns }, () => TextPipe.connect(s.server)));
      try {
        // a reply on each new connection: the server has accepted it
        for (const e of extra) if ((await e.line('version\r\n')).startsWith('VERSION ') === false) throw new Error('version answered otherwise');
        want.curr_connections = extraConns;
        const replies = await Promise.all(clients.map(async ({ conn }, c) => (perClient[c].length === 0 ? [] : conn.batch(perClient[c].join(''), perClient[c].length))));
        replies.forEach((list, c) => list.forEach((r, i) => checkReply(r, expected[c][i], `client ${c} request ${i} "${perClient[c][i].slice(0, 40)}"`)));
        const after = (await counters(s.control, NAMES)) as Counts;
        const delta = Object.fromEntries(NAMES.map((k) => [k, after[k] - before[k]]));
        if (JSON.stringify(delta) !== JSON.stringify(want)) throw new Error(`stats moved by ${JSON.stringify(delta)}, sent ${JSON.stringify(want)}`);
      } finally {
        await Promise.all(extra.map((e) => e.close()));
      }
      // the extra connections are gone from curr_connections once the server has seen them close
      await untilStats(s.control, `curr_connections back to ${before.curr_connections}`, (st) => Number(st.get('curr_connections')) === before.curr_connections, ['curr_connections'], 10_000);
    }),
    { numRuns: 25 },
  );
  t.pass();
});

function checkReply(r: TextReply, want: string, what: string): void {
  if (want.startsWith('values:')) {
    const hits = Number(want.slice(7));
    if (r.kind !== 'values' || r.values.length !== hits) throw new Error(`${what}: wanted ${hits} VALUE blocks, got ${JSON.stringify(r).slice(0, 200)}`);
    return;
  }
  const line = r.kind === 'line' ? r.line : '(VALUE blocks)';
  if (want === 'number' ? !/^\d+$/.test(line) : line !== want) throw new Error(`${what}: wanted ${want}, got "${line}"`);
}
