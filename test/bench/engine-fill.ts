/**
 * Memory efficiency: how many items fit in -m 64 before the first eviction, for
 * the engine alone and (if installed) for real memcached filled over a socket with
 * the same keys and values.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { existsSync } from 'node:fs';
import { NREAD_SET } from '../../src/cache/status.js';
import { makeCache, MB } from '../cache-fixture.js';
import { makeKeys } from './keys.js';

export function engineFill(keyLen: number, valueLen: number, megabytes = 64): { items: number; bytesPerItem: number } {
  const { cache } = makeCache({ maxbytes: megabytes * MB });
  const n = 2_000_000;
  const keys = makeKeys(n, keyLen, 7);
  const value = Buffer.alloc(valueLen, 0x76);
  let i = 0;
  for (; i < n && cache.counters.evictions === 0; i++) cache.set(NREAD_SET, keys, i * keyLen, keyLen, 0, 0, value, 0, valueLen);
  const items = cache.counters.curr_items;
  return { items, bytesPerItem: (megabytes * MB) / items };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Fills real memcached -m 64 the same way; null if memcached isn't installed. */
export async function memcachedFill(keyLen: number, valueLen: number, megabytes = 64): Promise<number | null> {
  const bin = '/usr/bin/memcached';
  if (!existsSync(bin)) return null;
  const port = await freePort();
  const args = ['-p', String(port), '-l', '127.0.0.1', '-U', '0', '-m', String(megabytes)];
  if (process.getuid?.() === 0) args.push('-u', 'root');
  const proc = spawn(bin, args, { stdio: 'ignore' });
  try {
    let sock: net.Socket | null = null;
    for (let tries = 0; tries < 200 && !sock; tries++) {
      sock = await new Promise<net.Socket | null>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s));
        s.once('error', () => setTimeout(() => resolve(null), 25));
      });
    }
    if (!sock) return null;
    const keys = makeKeys(2_000_000, keyLen, 7);
    const value = Buffer.alloc(valueLen, 0x76);
    let pending = '';
    const waitFor = (pred: (s: string) => boolean): Promise<string> => new Promise((resolve) => {
      const check = (): void => {
        if (pred(pending)) {
          sock!.off('data', onData);
          const out = pending;
          pending = '';
          resolve(out);
        }
      };
      const onData = (d: Buffer): void => { pending += d.toString('latin1'); check(); };
      sock!.on('data', onData);
      check();
    });
    const batch = 1000;
    for (let i = 0; i < 2_000_000; i += batch) {
      const parts: Buffer[] = [];
      for (let j = i; j < i + batch; j++) {
        parts.push(Buffer.from(`set `), keys.subarray(j * keyLen, (j + 1) * keyLen), Buffer.from(` 0 0 ${valueLen}\r\n`), value, Buffer.from('\r\n'));
      }
      sock.write(Buffer.concat(parts));
      await waitFor((s) => s.split('STORED\r\n').length - 1 >= batch);
      sock.write('stats\r\n');
      const stats = await waitFor((s) => s.endsWith('END\r\n'));
      const ev = Number(/STAT evictions (\d+)/.exec(stats)![1]);
      if (ev > 0) {
        sock.destroy();
        return Number(/STAT curr_items (\d+)/.exec(stats)![1]) ;
      }
    }
    sock.destroy();
    return null;
  } finally {
    proc.kill();
  }
}
