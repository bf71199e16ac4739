/**
 * Real servers for tests: the reference memcached (/usr/bin/memcached) and our own daemon
 * (`node bin/slabcache.js`), each a child process on a port the OS found free, ready when it
 * accepts a connection, and killed by the test's teardown.
 *
 *   const mc = await startMemcached(t, ['-m', '8']);
 *   const sc = await startSlabcache(t, ['-m', '8']);
 *
 * If the port was taken between our check and the server's bind, the server says so and exits;
 * we pick another port and try again. Readiness is polled with connects, never guessed with sleeps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import type { Address } from './telnet.js';
import { defaultSettings } from '../../src/config.js';
import { variantThreads } from './thread-variants.js';

export const MEMCACHED_BIN = process.env.MEMCACHED_BIN ?? '/usr/bin/memcached';

/** The repository root: the first directory above this file holding bin/slabcache.js. */
export const REPO_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'bin', 'slabcache.js'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find bin/slabcache.js above test/helpers');
})();

export const SLABCACHE_BIN = join(REPO_ROOT, 'bin', 'slabcache.js');

export interface TestServer extends Address {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Everything the server wrote to stderr (and stdout) so far. */
  output(): string;
  /** Resolves when the process has exited. */
  readonly done: Promise<void>;
  /** Whether the process has exited, and how. */
  exited(): { code: number | null; signal: NodeJS.Signals | null } | null;
  /** Stop it now (teardown also does this). */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Total time to wait for the server to accept a connection. */
  readyTimeoutMs?: number;
  /** Extra environment for the child. */
  env?: NodeJS.ProcessEnv;
  /** Where ports come from (default: freePort); a test of this helper can hand out a busy one. */
  pickPort?: () => Promise<number>;
  /** How teardown stops it (default: SIGKILL for memcached, whose clean stop takes ~0.7 s; SIGTERM for slabcache). */
  stopSignal?: NodeJS.Signals;
}

/** A TCP port nobody listens on right now, from the OS (bind port 0, read it, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no port from the OS'))));
    });
  });
}

const ADDRESS_IN_USE = /address already in use|EADDRINUSE/i;
const MAX_ATTEMPTS = 5;

function hasFlag(args: readonly string[], short: string, long: string): boolean {
  return args.some((a) => a === `-${short}` || (a.startsWith(`-${short}`) && !a.startsWith('--')) || a === `--${long}` || a.startsWith(`--${long}=`));
}

/** `-t N` for a test registered per thread count (helpers/thread-variants.ts), unless args name one. */
function variantArgs(t: ExecutionContext, args: readonly string[]): string[] {
  const n = variantThreads(t);
  return n === undefined || hasFlag(args, 't', 'threads') ? [] : ['-t', String(n)];
}

/** Start the reference memcached. As root it needs `-u root`, which we add. */
export function startMemcached(t: ExecutionContext, args: string[] = [], opts: StartOptions = {}): Promise<TestServer> {
  const extra: string[] = [];
  if (process.getuid?.() === 0 && !hasFlag(args, 'u', 'user')) extra.push('-u', 'root');
  // memcached listens on every interface by default; tests stay on loopback
  if (!hasFlag(args, 'l', 'listen') && !hasFlag(args, 's', 'unix-socket')) extra.push('-l', '127.0.0.1');
  // the one default we changed on purpose (docs/memory.md, slab classes): compare like with like
  if (!hasFlag(args, 'f', 'slab-growth-factor')) extra.push('-f', String(defaultSettings().growthFactor));
  extra.push(...variantArgs(t, args));
  return startServer(t, 'memcached', MEMCACHED_BIN, [], [...extra, ...args], { stopSignal: 'SIGKILL', ...opts });
}

/**
 * Start our daemon, the real entry point (`node bin/slabcache.js`), from the build in dist/. As root it gets `-u root`.
 * A test that names ports of its own (-p, more -l listeners) passes a function that picks them
 * with freePort() and returns the arguments: it is called again for each attempt, so a port
 * someone took between freePort() and the bind is replaced, as an unnamed -p is.
 */
export function startSlabcache(t: ExecutionContext, args: string[] | (() => Promise<string[]>) = [], opts: StartOptions = {}): Promise<TestServer> {
  // like memcached, slabcache refuses to run as root without -u
  const withUser = (a: string[]): string[] => [...variantArgs(t, a), ...(process.getuid?.() === 0 && !hasFlag(a, 'u', 'user') ? ['-u', 'root', ...a] : a)];
  const built = typeof args === 'function' ? async () => withUser(await args()) : withUser(args);
  return startServer(t, 'slabcache', process.execPath, [SLABCACHE_BIN], built, { stopSignal: 'SIGTERM', ...opts });
}

async function startServer(
  t: ExecutionContext,
  name: string,
  command: string,
  prefix: string[],
  argsOrPick: string[] | (() => Promise<string[]>),
  opts: StartOptions,
): Promise<TestServer> {
  // ports are picked anew for each attempt when none is fixed in the arguments
  const picksPorts = typeof argsOrPick === 'function';
  let lastError: Error | null = null;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const args = typeof argsOrPick === 'function' ? await argsOrPick() : argsOrPick;
    const givenPort = portFromArgs(args);
    const port = givenPort ?? (await (opts.pickPort ?? freePort)());
    const portArgs = givenPort === null ? ['-p', String(port)] : [];
    const server = spawnServer(t, name, command, [...prefix, ...portArgs, ...args], port, opts);
    try {
      await waitUntilAccepting(server, opts.readyTimeoutMs ?? 15_000);
      return server;
    } catch (err) {
      await server.stop();
      lastError = err as Error;
      // someone took the port between freePort() and the server's bind: try another
      if ((givenPort === null || picksPorts) && ADDRESS_IN_USE.test(server.output())) continue;
      throw err;
    }
  }
  throw lastError ?? new Error(`${name} did not start`);
}

/** The port given with -p, if any (then we do not pick one). */
function portFromArgs(args: readonly string[]): number | null {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    let v: string | undefined;
    if (a === '-p' || a === '--port') v = args[i + 1];
    else if (a.startsWith('--port=')) v = a.slice(7);
    else if (/^-p\d+$/.test(a)) v = a.slice(2);
    if (v !== undefined && /^\d+$/.test(v)) return Number(v);
  }
  return null;
}

function spawnServer(
  t: ExecutionContext,
  name: string,
  command: string,
  args: string[],
  port: number,
  opts: StartOptions,
): TestServer {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    if (output.length > 1_000_000) output = output.slice(-500_000); // keep the tail of a chatty -vv
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exitedPromise = new Promise<void>((resolve) => {
    // 'close', not 'exit': by then everything the process wrote to stderr has been read
    child.once('close', (code, signal) => {
      exit = { code, signal };
      resolve();
    });
    child.once('error', (err) => {
      output += `\n[spawn error: ${err.message}]`;
      exit = exit ?? { code: null, signal: null };
      resolve();
    });
  });
  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    if (exit !== null) return;
    child.kill(opts.stopSignal ?? 'SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exitedPromise;
    clearTimeout(timer);
  };
  const server: TestServer = {
    host: '127.0.0.1',
    port,
    pid: child.pid ?? -1,
    child,
    done: exitedPromise,
    output: () => output,
    exited: () => exit,
    stop,
  };
  t.teardown(async () => {
    const diedEarly = exit !== null && !stopping;
    await stop();
    if (diedEarly || !t.passed) {
      const how = diedEarly ? `exited during the test (${describeExit(exit)})` : 'output';
      t.log(`${name} on port ${port} ${how}:\n${tail(output)}`);
    }
  });
  return server;
}

function describeExit(e: { code: number | null; signal: NodeJS.Signals | null } | null): string {
  if (e === null) return 'running';
  return e.signal !== null ? `signal ${e.signal}` : `code ${e.code}`;
}

function tail(s: string, lines = 40): string {
  const all = s.trimEnd().split('\n');
  return (all.length > lines ? ['...', ...all.slice(-lines)] : all).join('\n') || '(nothing)';
}

/** Poll connect() until the server accepts, fail fast if it exits first. */
async function waitUntilAccepting(server: TestServer, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    const exited = server.exited();
    if (exited !== null) {
      throw new Error(`${describeCommand(server)} exited before accepting connections (${describeExit(exited)}):\n${tail(server.output())}`);
    }
    if (await canConnect(server.host, server.port)) {
      // something accepted: make sure it is our child and not whoever took the port first
      const owned = listenerOwnedBy(server.pid, server.port);
      if (owned === true && server.exited() === null) return;
      if (owned === null && server.exited() === null) return; // no /proc: best effort
      // someone else's listener: our child fails its bind and exits (caught above), or binds later
    }
    if (Date.now() > deadline) {
      throw new Error(`${describeCommand(server)} did not accept connections on ${server.host}:${server.port} within ${timeoutMs} ms:\n${tail(server.output())}`);
    }
    // wait for the process to change state or a short, growing poll interval, whichever is first
    await Promise.race([
      new Promise((resolve) => setTimeout(resolve, delay)),
      server.done,
    ]);
    delay = Math.min(delay * 2, 100);
  }
}

/**
 * Whether process `pid` holds the socket listening on TCP `port` (Linux: the LISTEN entry's
 * inode in /proc/net/tcp{,6} is one of /proc/<pid>/fd), or null when /proc cannot tell.
 */
export function listenerOwnedBy(pid: number, port: number): boolean | null {
  const inodes = new Set<string>();
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  let tables = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    tables++;
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (f.length > 9 && f[1].endsWith(`:${portHex}`) && f[3] === '0A') inodes.add(f[9]);
    }
  }
  if (tables === 0) return null; // no /proc: cannot tell
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false; // the process is gone (or going)
  }
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m !== null && inodes.has(m[1])) return true;
  }
  return false;
}

function describeCommand(server: TestServer): string {
  return server.child.spawnargs.map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ');
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(1000, () => done(false));
  });
}
