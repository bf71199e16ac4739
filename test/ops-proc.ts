/**
 * Helpers for the operations tests: run the daemon (or a wrapper around it) as
 * a child whose readiness is not a TCP port (unix socket, socket activation,
 * -d), wait for conditions by polling them (never a blind sleep), and speak to
 * a server over any stream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';

export interface Proc {
  child: ChildProcess;
  output(): string;
  /** resolves with the exit status once the process has exited */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
}

/** Spawns command; the test's teardown kills it if it is still running. */
export function runProc(t: ExecutionContext, command: string, args: string[], env?: NodeJS.ProcessEnv): Proc {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  t.teardown(async () => {
    if (done) return;
    child.kill('SIGKILL');
    await exited;
  });
  return { child, output: () => out, exited, running: () => !done };
}

/** Polls cond with a growing interval until it holds; throws with `what` after timeoutMs. */
export async function waitUntil(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
}

export function tmpDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slabcache-ops-'));
  fs.chmodSync(dir, 0o755); // a daemon that dropped to nobody must still reach its files
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export type Where = { path: string } | { host: string; port: number };

export function canConnect(where: Where): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(where as net.NetConnectOpts);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Opens a connection, sends request, and resolves with everything received up
 * to and including `until` (or the close).
 */
export function ask(where: Where | net.Socket, request: string | Buffer, until: string | RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = where instanceof net.Socket ? where : net.connect(where as net.NetConnectOpts);
    let got = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${String(until)} after ${timeoutMs} ms; got ${JSON.stringify(got)}`));
    }, timeoutMs);
    const done = (): void => {
      cleanup();
      resolve(got);
    };
    const onData = (d: Buffer): void => {
      got += d.toString('latin1');
      if (typeof until === 'string' ? got.endsWith(until) : until.test(got)) done();
    };
    const onErr = (e: Error): void => {
      cleanup();
      reject(e);
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('error', onErr);
      s.off('close', done);
      if (!(where instanceof net.Socket)) s.destroy();
    };
    s.on('data', onData);
    s.once('error', onErr);
    s.once('close', done);
    s.write(request);
  });
}

/** A UDP port nobody has right now (bind 0, read it, close). */
export function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    s.once('error', reject);
    s.bind(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The effective uid of a running process, from /proc. */
export function uidOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^Uid:\s+\d+\s+(\d+)/m.exec(status);
  if (!m) throw new Error(`no Uid line for ${pid}`);
  return Number(m[1]);
}

/** Whether we run as root (then memcached's -u rules apply). */
export const IS_ROOT = process.getuid?.() === 0;
/** What a test passes so a root run is allowed: memcached's rule needs -u as root. */
export const AS_ROOT_ARGS = IS_ROOT ? ['-u', 'root'] : [];
