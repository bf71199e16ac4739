/**
 * systemd socket activation through `systemd-socket-activate` (Debian package
 * systemd): it binds, waits for the first connection, then execs the daemon
 * with LISTEN_FDS/LISTEN_PID; that first client must be served, on TCP and on a
 * unix socket, and the daemon must bind nothing of its own.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, SLABCACHE_BIN } from './helpers/memcached.js';
import { AS_ROOT_ARGS, ask, canConnect, runProc, tmpDir, waitUntil } from './ops-proc.js';

test('socket activation: the first client starts the daemon and is served, on TCP and unix', async (t) => {
  const dir = tmpDir(t);
  const sock = path.join(dir, 'activated.sock');
  const port = await freePort();
  const ownPort = await freePort();
  const p = runProc(t, 'systemd-socket-activate', [
    '-l', `127.0.0.1:${port}`, '-l', sock,
    process.execPath, SLABCACHE_BIN, ...AS_ROOT_ARGS, '-p', String(ownPort), '-l', '127.0.0.1',
  ]);
  // it announces each socket on stderr once bound ("Listening on ... as 3.")
  await waitUntil('systemd-socket-activate to listen', () => {
    if (!p.running()) throw new Error(`systemd-socket-activate exited: ${p.output()}`);
    return (p.output().match(/Listening on/g) ?? []).length === 2;
  });
  const exe = (): string => fs.readlinkSync(`/proc/${p.child.pid}/exe`);
  t.regex(exe(), /systemd-socket-activate$/, 'no daemon before the first client');

  // the first connection: systemd-socket-activate execs the daemon, which accepts it
  t.teardown(() => {
    if (!t.passed) t.log(p.output());
  });
  t.is(await ask({ host: '127.0.0.1', port }, 'set act 0 0 2\r\nok\r\nget act\r\n', 'END\r\n'), 'STORED\r\nVALUE act 0 2\r\nok\r\nEND\r\n');
  t.is(exe(), fs.realpathSync(process.execPath), 'the same pid is now the daemon (node)');
  t.is(await ask({ path: sock }, 'get act\r\n', 'END\r\n'), 'VALUE act 0 2\r\nok\r\nEND\r\n', 'the inherited unix socket serves too');
  t.false(await canConnect({ host: '127.0.0.1', port: ownPort }), 'the daemon bound no -p port of its own');

  p.child.kill('SIGTERM');
  t.is((await p.exited).code, 0);
});
