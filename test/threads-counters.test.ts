/**
 * Counters shared by clients on different worker threads (-t 4) lose nothing: incr from every
 * worker at once, CAS-loop increments, and the binary protocol's increment through memjs.
 * Each client is a real connection whose worker is known (helpers/threaded.ts).
 */
import test from 'ava';
import memjs from 'memjs';
import { startThreaded } from './helpers/threaded.js';
import { lineOf, type TextPipe } from './helpers/text-pipe.js';

const INCRS_PER_CLIENT = 10_000;
const INCR_BATCH = 500;

/** Where two clients' answers show the same counter value, or an answer is not a number. */
function duplicatesOrGaps(answers: number[][], total: number): string[] {
  const seen = new Uint8Array(total + 1);
  const problems: string[] = [];
  answers.forEach((list, client) => {
    for (const v of list) {
      if (!Number.isSafeInteger(v) || v < 1 || v > total) problems.push(`client ${client} was answered ${v}, outside 1..${total}`);
      else if (seen[v]++ > 0) problems.push(`value ${v} was answered twice (again to client ${client})`);
      if (problems.length > 5) return;
    }
  });
  return problems;
}

test('4 clients on 4 workers each incr one key 10,000 times: it ends at exactly 40,000, every value answered once', async (t) => {
  const s = await startThreaded(t, ['-m', '64']);
  const clients = await s.pinned<TextPipe>(t, 1);
  t.is(await s.control.line('set n 0 0 1\r\n0\r\n'), 'STORED');
  const lockBefore = s.reference ? null : await s.control.stats('threads');
  const answers = await Promise.all(
    clients.map(async ({ conn }, client) => {
      const got: number[] = [];
      const batch = 'incr n 1\r\n'.repeat(INCR_BATCH);
      for (let sent = 0; sent < INCRS_PER_CLIENT; sent += INCR_BATCH) {
        for (const r of await conn.batch(batch, INCR_BATCH)) {
          const line = lineOf(r, `client ${client}: incr`);
          if (!/^\d+$/.test(line)) throw new Error(`client ${client}: incr answered "${line}"`);
          got.push(Number(line));
        }
      }
      return got;
    }),
  );
  const total = clients.length * INCRS_PER_CLIENT;
  // each client's own answers rise: its incrs run in the order it sent them
  answers.forEach((list, client) => {
    const back = list.findIndex((v, i) => i > 0 && v <= list[i - 1]);
    t.is(back, -1, `client ${client}: answer ${back} (${list[back]}) is not above the one before (${list[back - 1]})`);
  });
  t.deepEqual(duplicatesOrGaps(answers, total), [], 'every value 1..total is answered to exactly one incr');
  t.is(await s.control.line('incr n 0\r\n'), String(total));
  if (lockBefore !== null) {
    // every read's worth of requests runs under the engine lock: at least one acquisition per batch
    const lock = await s.control.stats('threads');
    const taken = Number(lock.get('lock_acquisitions')) - Number(lockBefore.get('lock_acquisitions'));
    const contended = Number(lock.get('lock_contended')) - Number(lockBefore.get('lock_contended'));
    t.log(`engine lock: ${taken} acquisitions, ${contended} contended`);
    t.true(taken >= total / INCR_BATCH, `lock_acquisitions rose by ${taken}, fewer than the ${total / INCR_BATCH} batches sent`);
    t.true(contended >= 0 && contended <= taken, `lock_contended rose by ${contended} of ${taken} acquisitions`);
  }
});

test('CAS-loop increments (gets, cas, retry on EXISTS) from 8 clients on 4 workers lose nothing', async (t) => {
  const s = await startThreaded(t, ['-m', '64']);
  const clients = await s.pinned<TextPipe>(t, 2);
  const PER_CLIENT = 250;
  t.is(await s.control.line('set c 0 0 1\r\n0\r\n'), 'STORED');
  const results = await Promise.all(
    clients.map(async ({ conn }, client) => {
      const stored: number[] = [];
      let retries = 0;
      while (stored.length < PER_CLIENT) {
        const r = await conn.one('gets c\r\n');
        if (r.kind !== 'values' || r.values.length !== 1 || r.values[0].cas === null) throw new Error(`client ${client}: gets c answered ${JSON.stringify(r)}`);
        const { data, cas } = r.values[0];
        const next = String(Number(data.toString('latin1')) + 1);
        const reply = await conn.line(`cas c 0 0 ${next.length} ${cas}\r\n${next}\r\n`);
        if (reply === 'STORED') stored.push(Number(next));
        else if (reply === 'EXISTS') retries++;
        else throw new Error(`client ${client}: cas answered "${reply}"`);
      }
      return { stored, retries };
    }),
  );
  const total = clients.length * PER_CLIENT;
  t.log(`${total} increments, ${results.reduce((a, r) => a + r.retries, 0)} EXISTS retries`);
  t.deepEqual(duplicatesOrGaps(results.map((r) => r.stored), total), [], 'every value 1..total is stored by exactly one cas');
  const final = await s.control.one('get c\r\n');
  t.is(final.kind === 'values' ? final.values[0]?.data.toString() : undefined, String(total));
});

test('binary protocol (memjs): 4 clients on 4 workers increment one key, nothing lost', async (t) => {
  const s = await startThreaded(t, ['-m', '64']);
  const PER_CLIENT = 2_000;
  const BATCH = 200;
  const open = async (): Promise<memjs.Client> => {
    const c = memjs.Client.create(`${s.server.host}:${s.server.port}`, { retries: 0, timeout: 10, logger: { log: () => undefined } });
    await c.get('connect'); // memjs connects on its first request
    return c;
  };
  const clients = await s.pinned(t, 1, open, (c) => c.close());
  t.true(await clients[0].conn.set('bn', '0', { expires: 0 }));
  const answers = await Promise.all(
    clients.map(async ({ conn }, client) => {
      const got: number[] = [];
      for (let sent = 0; sent < PER_CLIENT; sent += BATCH) {
        // memjs writes each request at once and matches replies by opaque: one batch is pipelined
        const replies = await Promise.all(Array.from({ length: BATCH }, () => conn.increment('bn', 1, {})));
        for (const r of replies) {
          if (!r.success || r.value == null) throw new Error(`client ${client}: binary increment failed: ${JSON.stringify(r)}`);
          got.push(r.value);
        }
      }
      return got;
    }),
  );
  const total = clients.length * PER_CLIENT;
  t.deepEqual(duplicatesOrGaps(answers, total), [], 'every value 1..total is answered to exactly one increment');
  t.is((await clients[1].conn.get('bn')).value?.toString(), String(total));
  t.is(await s.control.line('incr bn 0\r\n'), String(total));
});
