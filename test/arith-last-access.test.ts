/**
 * An in-place incr/decr counts as an access, as memcached's do_add_delta (which ends with
 * do_item_update) makes it: with the segmented LRU `me` la= and `mg` l read 0 right after
 * it, however long the item sat before; the flat LRU refreshes it only once a minute. Checked against memcached 1.6.18 across a real tick of each server's
 * clock, waited for by reading the clock, not by sleeping.
 */
import test, { type ExecutionContext } from 'ava';
import { type Side } from './helpers/differential.js';
import { startMemcached, startSlabcache, type TestServer } from './helpers/memcached.js';
import { RawClient, visible } from './helpers/telnet.js';
import { serverTime, untilServerTime } from './helpers/clock.js';

/**
 * cls= and size= depend on each server's slab layout, not on the rule under test; an
 * idle time above 0 depends on how long each wait took (the flat LRU keeps it), so it
 * reads `idle`: what is compared is whether the incr reset it.
 */
const maskLayout = (s: string): string => s.replace(/ cls=\d+ size=\d+/g, ' cls=? size=?').replace(/ cas=\d+/g, ' cas=?')
  .replace(/ la=[1-9]\d*/g, ' la=idle').replace(/ l[1-9]\d*/g, ' l-idle');

async function afterIdle(t: ExecutionContext, server: TestServer, side: Side, script: readonly string[],
  setup: string): Promise<string> {
  const c = await RawClient.connect(server.port, server.host);
  t.teardown(() => c.close());
  if (setup !== '') {
    await c.send(`${setup}\r\n`);
    t.is((await c.readUntil('\r\n')).toString('latin1'), 'OK\r\n', `${side}: ${setup}`);
  }
  await c.send('set n 0 0 2\r\n10\r\nset d 0 0 2\r\n10\r\n');
  await c.readUntil('STORED\r\nSTORED\r\n');
  const stored = await serverTime(c);
  // two readings later the items have sat at least one whole second
  await untilServerTime(c, stored + 2);
  await c.send('me n\r\n');
  const before = (await c.readUntil('\r\n')).toString('latin1');
  const la = Number(/ la=(\d+)/.exec(before)?.[1] ?? '-1');
  t.true(la >= 1, `${side}: the item has sat idle before the incr: ${before}`);
  const out: string[] = [];
  for (const line of script) {
    await c.send(`${line}\r\nmn\r\n`);
    const reply = (await c.readUntil('MN\r\n')).toString('latin1');
    out.push(`> ${line}\n< ${visible(maskLayout(reply.slice(0, -4)))}`);
  }
  return out.join('\n');
}

// the flat LRU's do_item_update touches an item at most once a minute (ITEM_UPDATE_INTERVAL)
const CASES: ReadonlyArray<readonly [string[], string, RegExp]> = [
  [[], '', /la=0/], [['-C'], '', /la=0/],
  [['-o', 'no_lru_maintainer'], '', /la=idle/], [['-o', 'no_modern'], '', /la=idle/], [[], 'lru mode flat', /la=idle/],
];
for (const [args, setup, la] of CASES) {
  test(`an in-place incr/decr updates last access as memcached's: ${[...args, setup].join(' ').trim() || '(defaults)'}`, async (t) => {
    const [memcached, slabcache] = await Promise.all([startMemcached(t, args), startSlabcache(t, args)]);
    const script = ['incr n 1', 'decr d 1', 'me n', 'me d', 'mg n l v', 'mg d l v', 'mg n l t h'];
    const [want, got] = await Promise.all([
      afterIdle(t, memcached, 'memcached', script, setup),
      afterIdle(t, slabcache, 'slabcache', script, setup),
    ]);
    t.regex(want, la, 'memcached, after the incr');
    t.is(got, want, 'slabcache (actual) vs memcached (expected)');
  });
}
