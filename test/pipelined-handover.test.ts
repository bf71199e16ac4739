/**
 * `watch` and `lru_crawler metadump` hand the connection over, so memcached refuses
 * them behind replies it has not written yet (`ERROR cannot pipeline ...`). It
 * writes a get's or an mn's replies at once, so after those they go ahead. Both
 * daemons get the same pipelined lines.
 */
import test, { type ExecutionContext } from 'ava';
import { startMemcached, startSlabcache, type TestServer } from './helpers/memcached.js';
import { RawClient, visible } from './helpers/telnet.js';

const CASES: Array<[send: string, last: RegExp]> = [
  ['get a\r\nlru_crawler metadump all\r\n', /END\r\n[\s\S]*END\r\n$/],
  ['gets a b\r\nlru_crawler metadump all\r\n', /END\r\n[\s\S]*END\r\n$/],
  ['bget a\r\nlru_crawler metadump all\r\n', /END\r\n[\s\S]*END\r\n$/],
  ['mn\r\nlru_crawler metadump all\r\n', /MN\r\n[\s\S]*END\r\n$/],
  ['version\r\nlru_crawler metadump all\r\n', /metadump\r\n$/],
  ['mg a v\r\nlru_crawler metadump all\r\n', /(metadump|END)\r\n$/],
  ['bget a\r\nwatch\r\n', /OK\r\n$/],
  ['mg a v\r\nwatch\r\n', /(OK|watch)\r\n$/],
];

async function play(t: ExecutionContext, s: TestServer): Promise<string[]> {
  const out: string[] = [];
  for (const [send, last] of CASES) {
    const c = await RawClient.connect(s.port, s.host);
    t.teardown(() => c.close());
    await c.send(send);
    const r = await c.waitFor((b) => (last.test(b.toString('latin1')) ? b.length : -1), 10_000);
    if (r.timedOut) t.fail(`no complete reply to ${visible(send)}: ${visible(c.drain())}`);
    out.push(`${visible(send)} -> ${visible(r.bytes).replace(/VERSION [^\\]*/, 'VERSION V')}`);
  }
  return out;
}

test('watch and metadump after pipelined requests: refused or not, as memcached', async (t) => {
  const theirs = await play(t, await startMemcached(t, ['-U', '0']));
  const ours = await play(t, await startSlabcache(t, ['-U', '0']));
  t.deepEqual(ours, theirs);
});
