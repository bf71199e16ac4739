/**
 * Warm restart figures: fills a real daemon (`-m BENCH_MEM_MB`, default 1024) with
 * BENCH_VALUE_BYTES values (default 1000) until it evicts, stops it with SIGUSR1,
 * starts it again on the same -e file, and prints how long the save and the load
 * took (the daemon's own `[restart]` lines at -v), the time from spawn to the
 * first accepted connection and the CPU time used by then, and the restarted
 * daemon's RSS (peak and now).
 *
 *   npx tsc -p tsconfig.json && node dist/test/bench/restart-snapshot.js
 *
 * BENCH_DIR picks where the snapshot goes (default: the OS's temp directory).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SLABCACHE_BIN, freePort } from '../helpers/memcached.js';

const MEM_MB = Number(process.env.BENCH_MEM_MB ?? 1024);
const VALUE_BYTES = Number(process.env.BENCH_VALUE_BYTES ?? 1000);
const BATCH = 2000;

interface Run {
  child: ChildProcess;
  port: number;
  out: () => string;
  exited: Promise<void>;
}

async function start(file: string): Promise<{ run: Run; readyMs: number }> {
  const port = await freePort();
  const root = process.getuid?.() === 0 ? ['-u', 'root'] : [];
  const t0 = performance.now();
  const child = spawn(process.execPath, [SLABCACHE_BIN, ...root, '-p', String(port), '-U', '0', '-m', String(MEM_MB), '-e', file, '-v'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) break;
    if (child.exitCode !== null) throw new Error(`daemon exited: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { run: { child, port, out: () => out, exited }, readyMs: performance.now() - t0 };
}

/** Pipelined noreply sets, BATCH at a time, each batch closed by a meta no-op. */
async function fill(port: number): Promise<number> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const value = Buffer.alloc(VALUE_BYTES, 'v');
  let pending: (() => void) | null = null;
  let got = '';
  sock.on('data', (d: Buffer) => {
    got += d.toString('latin1');
    if (got.includes('MN\r\n') && pending) {
      got = '';
      const p = pending;
      pending = null;
      p();
    }
  });
  let n = 0;
  for (;;) {
    const parts: Buffer[] = [];
    for (let i = 0; i < BATCH; i++, n++) {
      parts.push(Buffer.from(`set key:${n} ${n % 65536} 0 ${VALUE_BYTES} noreply\r\n`), value, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('mn\r\n'));
    await new Promise<void>((resolve) => {
      pending = resolve;
      sock.write(Buffer.concat(parts));
    });
    if (n % (BATCH * 50) === 0) {
      const stats = await new Promise<string>((resolve) => {
        let s = '';
        const on = (d: Buffer): void => {
          s += d.toString('latin1');
          if (s.endsWith('END\r\n')) {
            sock.off('data', on);
            resolve(s);
          }
        };
        sock.on('data', on);
        sock.write('stats\r\n');
      });
      got = '';
      if (/STAT evictions [1-9]/.test(stats)) break;
    }
  }
  sock.destroy();
  return n;
}

function rssOf(pid: number): { hwm: number; rss: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { hwm: kb('VmHWM') / 1024, rss: kb('VmRSS') / 1024 };
}

/** CPU seconds (user + system) the process has used: less at the mercy of a busy machine than wall time. */
function cpuOf(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

async function stop(run: Run, signal: NodeJS.Signals): Promise<void> {
  run.child.kill(signal);
  await run.exited;
}

const dir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'slabcache-restart-'));
const file = path.join(dir, 'cache');
try {
  const first = await start(file);
  const t0 = performance.now();
  const sets = await fill(first.run.port);
  console.log(`filled -m ${MEM_MB} with ${sets} sets of ${VALUE_BYTES} B in ${((performance.now() - t0) / 1000).toFixed(1)} s; RSS ${rssOf(first.run.child.pid!).rss.toFixed(0)} MB`);
  const tStop = performance.now();
  await stop(first.run, 'SIGUSR1');
  const stopMs = performance.now() - tStop;
  const saved = /\[restart\] saved .*/.exec(first.run.out())?.[0] ?? `(no save line) ${first.run.out()}`;
  console.log(`${saved}; SIGUSR1 to exit ${stopMs.toFixed(0)} ms; file ${(fs.statSync(file).size / 1048576).toFixed(0)} MB in ${dir}`);
  const second = await start(file);
  const rss = rssOf(second.run.child.pid!);
  const cpu = cpuOf(second.run.child.pid!);
  const restored = /\[restart\] restored .*/.exec(second.run.out())?.[0] ?? `(no restore line) ${second.run.out()}`;
  console.log(`${restored}; spawn to accepting ${second.readyMs.toFixed(0)} ms, ${cpu.toFixed(2)} CPU s (node's start included); RSS after load ${rss.rss.toFixed(0)} MB, peak ${rss.hwm.toFixed(0)} MB`);
  await stop(second.run, 'SIGINT');
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
