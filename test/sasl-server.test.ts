/**
 * SASL over real sockets: slabcache -S with MEMCACHED_SASL_PWDB. memjs logs in with
 * PLAIN and runs every operation it has; wrong credentials get Auth failure and no
 * access; stats count auth_cmds and auth_errors.
 */
import test from 'ava';
import memjs from 'memjs';
import { startSlabcache } from './helpers/memcached.js';
import { arithExt, exchange, ext, masked, pkt, sentinel } from './binary-client.js';
import { authFiles } from './sasl-fixture.js';

const plain = (user: string, pass: string, authz = ''): Buffer => Buffer.from(`${authz}\0${user}\0${pass}`);

async function saslServer(t: import('ava').ExecutionContext) {
  const f = authFiles(t);
  return startSlabcache(t, ['-S'], { env: { MEMCACHED_SASL_PWDB: f.pwdb } });
}

test('memjs with SASL credentials runs every operation', async (t) => {
  const sc = await saslServer(t);
  const mc = memjs.Client.create(`alice:secret@127.0.0.1:${sc.port}`, { retries: 0, timeout: 5, logger: { log: () => undefined } });
  t.teardown(() => mc.close());
  t.true(await mc.set('k', 'v1', { expires: 0 }));
  t.is((await mc.get('k')).value?.toString(), 'v1');
  t.false(await mc.add('k', 'x'));
  t.true(await mc.add('k2', 'x'));
  t.true(await mc.replace('k2', 'y'));
  t.false(await mc.replace('nope', 'y'));
  t.true(await mc.append('k', '>'));
  t.true(await mc.prepend('k', '<'));
  // NOTE: memjs 1.3 sends Append's opcode (0x0e) for prepend, so both land at the end
  t.is((await mc.get('k')).value?.toString(), 'v1><');
  t.deepEqual(await mc.increment('n', 5, { initial: 10 }), { success: true, value: 10 });
  t.deepEqual(await mc.increment('n', 5, {}), { success: true, value: 15 });
  t.deepEqual(await mc.decrement('n', 20, {}), { success: true, value: 0 });
  t.true(await mc.touch('k', 100));
  t.false(await mc.touch('nope', 100));
  t.true(await mc.delete('k2'));
  t.false(await mc.delete('k2'));
  t.is((await mc.get('k2')).value, null);
  const stats = await new Promise<Record<string, string> | null>((resolve) => mc.stats((_e, _s, st) => resolve(st)));
  t.is(stats?.auth_cmds, '1');
  t.is(stats?.auth_errors, '0');
  t.truthy(stats?.version);
  const flushed = await mc.flush();
  t.true(Object.values(flushed).every((v) => v === true));
  t.is((await mc.get('n')).value, null);
});

test('memjs with a wrong password is refused', async (t) => {
  const sc = await saslServer(t);
  const mc = memjs.Client.create(`alice:wrong@127.0.0.1:${sc.port}`, { retries: 0, timeout: 2, logger: { log: () => undefined } });
  t.teardown(() => mc.close());
  const err = await mc.get('k').then(() => 'no error', (e: unknown) => String(e));
  t.regex(err, /authentication failed/);
});

test('PLAIN: right password, wrong password, continue then step, authzid rules, counters', async (t) => {
  const sc = await saslServer(t);
  const login = (value: Buffer, op = 0x21) => pkt({ op, key: 'PLAIN', value, opaque: 5 });
  // good login, then commands work on this connection
  let x = await exchange(sc.port, [login(plain('alice', 'secret')), pkt({ op: 0x01, key: 'a', extras: ext(0, 0), value: 'v' }),
    pkt({ op: 0x00, key: 'a' }), sentinel()]);
  t.is(x.replies[0].status, 0);
  t.is(x.replies[0].value, 'Authenticated');
  t.is(x.replies[2].value, 'v');
  t.false(x.closed);
  // extra `:field` after the password is allowed, as in memcached's checkpass
  x = await exchange(sc.port, [login(plain('bob', 'hunter2')), sentinel()]);
  t.is(x.replies[0].value, 'Authenticated');
  // wrong password: Auth failure, still unauthenticated, the next command closes
  x = await exchange(sc.port, [login(plain('alice', 'secre')), pkt({ op: 0x00, key: 'a', opaque: 6 })]);
  t.is(masked(x), [
    '81 op=21 st=20 opq=5 cas=0 ext= key="" val="Auth failure."',
    '81 op=0 st=20 opq=6 cas=0 ext= key="" val="Auth failure."', 'closed'].join('\n'));
  // an authzid naming someone else is refused; naming yourself is fine
  x = await exchange(sc.port, [login(plain('alice', 'secret', 'bob')), login(plain('alice', 'secret', 'alice')), sentinel()]);
  t.deepEqual(x.replies.slice(0, 2).map((r) => r.status), [0x20, 0]);
  // no initial response: CONTINUE, then the credentials in a STEP
  x = await exchange(sc.port, [login(Buffer.alloc(0)), login(plain('alice', 'secret'), 0x22), sentinel()]);
  t.deepEqual(x.replies.slice(0, 2).map((r) => [r.status, r.value]), [[0x21, ''], [0, 'Authenticated']]);
  // unknown user, unknown mechanism
  x = await exchange(sc.port, [login(plain('carol', 'secret')), pkt({ op: 0x21, key: 'CRAM-MD5', value: 'x' }), sentinel()]);
  t.deepEqual(x.replies.slice(0, 2).map((r) => r.status), [0x20, 0x20]);
  // counted: 7 completed exchanges, 4 failures (the CONTINUE is not counted)
  x = await exchange(sc.port, [login(plain('alice', 'secret')), pkt({ op: 0x10 }), sentinel()]);
  const stat = (n: string) => x.replies.find((r) => r.key === n)?.value;
  t.is(stat('auth_cmds'), '9');
  t.is(stat('auth_errors'), '4');
  // incr works after login too (arith path under -S)
  x = await exchange(sc.port, [login(plain('alice', 'secret')), pkt({ op: 0x05, key: 'n', extras: arithExt(1n, 7n, 0) }), sentinel()]);
  t.is(x.replies[1].status, 0);
});
