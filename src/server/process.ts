/**
 * The process around the daemon, as memcached runs it: -d daemonize with -P
 * pidfile, -u privilege drop, -r/-k, and signals. cli/ decides when to call what
 * and passes in anything read from the environment.
 *
 * Node cannot fork(), so -d re-executes the same command line as a detached
 * child (setsid) marked by DAEMON_CHILD_ENV; the parent waits on an IPC channel
 * until the child listens (exit 0) or fails (its message, its exit code).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';

/** sysexits.h codes memcached exits with */
export const EX_USAGE = 64;
export const EX_NOUSER = 67;
export const EX_OSERR = 71;

/** A startup failure: cli prints message alone on stderr and exits with exitCode. */
export class FatalError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

// ---- -u: identity ------------------------------------------------------------

export interface TargetUser {
  name: string;
  uid: number;
  gid: number;
}

/**
 * memcached's rule, checked before anything binds so a bad -u fails fast: root
 * must name a user to become; a non-root -u is ignored, as memcached does.
 * Returns the user to drop to after binding, or null to stay as we are.
 */
export function resolveUser(username: string | null, uid: number): TargetUser | null {
  if (uid !== 0) return null;
  if (!username) throw new FatalError("can't run as root without the -u switch", EX_USAGE);
  let entry: string;
  try {
    // getent asks NSS, so LDAP/sssd users work as they do for getpwnam()
    entry = execFileSync('getent', ['passwd', username], { encoding: 'latin1', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    throw new FatalError(`can't find the user ${username} to switch to`, EX_NOUSER);
  }
  const f = entry.trim().split(':');
  const u = Number(f[2]);
  const g = Number(f[3]);
  if (f.length < 4 || !Number.isInteger(u) || !Number.isInteger(g)) {
    throw new FatalError(`can't find the user ${username} to switch to`, EX_NOUSER);
  }
  return { name: username, uid: u, gid: g };
}

/**
 * Becomes `user` once the sockets are bound (so a root-started daemon may use
 * privileged ports). Files we must remove at exit (unix socket, pidfile) are
 * handed to the user first, or the unprivileged daemon could not clean up.
 */
export function dropPrivileges(user: TargetUser, ownPaths: readonly string[]): void {
  for (const p of ownPaths) {
    try {
      fs.chownSync(p, user.uid, user.gid);
    } catch {
      // gone or on a read-only mount: the daemon just won't remove it at exit
    }
  }
  if (!process.setuid) throw new FatalError('cannot change user on this platform', EX_OSERR);
  try {
    process.setgroups!([]);
    process.setgid!(user.gid);
    process.setuid(user.uid);
  } catch {
    throw new FatalError(`failed to assume identity of user ${user.name}`, EX_OSERR);
  }
}

/**
 * -e with -u: the snapshot is written after the drop, by `user`, into the file's
 * directory (a temporary file, then a rename). A warning when the directory's
 * mode bits do not let that user do so; null when they do, or it cannot be told.
 */
export function snapshotDirWarning(file: string, user: TargetUser): string | null {
  const dir = path.dirname(path.resolve(file));
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    return null; // the daemon refuses a missing directory itself, with its reason
  }
  const bits = st.uid === user.uid ? (st.mode >> 6) & 3 : st.gid === user.gid ? (st.mode >> 3) & 3 : st.mode & 3;
  if (user.uid === 0 || bits === 3) return null; // write and search
  return `warning: -e ${file}: ${dir} is not writable by ${user.name}, who saves the snapshot at stop; it will not be saved`;
}

// ---- -r, -k ------------------------------------------------------------------

/** Why each flag in Settings.noEffect does nothing here. */
const NO_EFFECT_WHY: Record<string, string> = {
  '-N': 'Node cannot see a connection\'s NAPI id to pick its worker thread',
  '-o drop_privileges': 'no seccomp sandbox; use the systemd unit\'s hardening',
  '-o sock_cookie_id': 'Node cannot set SO_MARK on its sockets',
};

/**
 * Warnings for flags accepted without effect. Node has no setrlimit() or mlockall():
 * operators get the same effect from systemd (LimitCORE=, LimitMEMLOCK= plus swap off)
 * or the shell (ulimit -c unlimited). The others have no mechanism here to act on.
 */
export function unsupportedFlagWarnings(s: {
  maxCore: boolean; lockMemory: boolean; readBufMemLimit: number; noEffect?: readonly string[];
}): string[] {
  const w: string[] = [];
  for (const name of new Set(s.noEffect ?? [])) w.push(`warning: ${name} accepted for compatibility, no effect here: ${NO_EFFECT_WHY[name]}`);
  if (s.readBufMemLimit !== 0) {
    // memcached draws read buffers from a per-thread pool this caps; here each connection
    // owns its buffer, bounded by the line and item limits and by max_output_bytes
    w.push('warning: -o read_buf_mem_limit accepted for compatibility, no effect here: each connection owns its read buffer (no shared pool to cap); see -o max_output_bytes');
  }
  if (s.maxCore) {
    w.push('warning: -r ignored: Node cannot raise the core file limit; use `ulimit -c unlimited` or LimitCORE=infinity in the unit');
  }
  if (s.lockMemory) {
    w.push('warning: -k ignored: Node cannot call mlockall(); cache memory may be paged out (disable swap or use MemorySwapMax=0 in the unit)');
  }
  return w;
}

// ---- -P: pidfile ------------------------------------------------------------

/** Writes pid as memcached does ("%ld\n"); a failure is reported, not fatal (memcached too). */
export function writePidFile(path: string, pid: number): string | null {
  try {
    fs.writeFileSync(path, `${pid}\n`);
    return null;
  } catch (e) {
    return `Could not open the pid file ${path} for writing: ${(e as Error).message}`;
  }
}

export function removePidFile(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch {
    // already gone, or we dropped the rights to remove it
  }
}

// ---- -d: daemonize ----------------------------------------------------------

/** Set in the child's environment so cli knows not to daemonize again. */
export const DAEMON_CHILD_ENV = 'SLABCACHE_DAEMON_CHILD';

interface ChildMessage {
  ready?: boolean;
  error?: string;
}

export interface DaemonSpawn {
  execPath: string;
  /** node flags + script + our argv, so the child runs the same command line */
  args: string[];
  env: NodeJS.ProcessEnv;
  /** with -v the daemon keeps stderr, as memcached keeps it open when verbose */
  keepStderr: boolean;
}

/**
 * Parent side of -d: starts the detached child and resolves with the exit code
 * the parent should use: 0 once the child listens, else the child's failure.
 * A failure message from the child is written to our stderr.
 */
export function spawnDaemon(d: DaemonSpawn): Promise<number> {
  const child = spawn(d.execPath, d.args, {
    detached: true, // setsid(): no controlling terminal, survives our exit
    env: { ...d.env, [DAEMON_CHILD_ENV]: '1' },
    stdio: ['ignore', 'ignore', d.keepStderr ? 'inherit' : 'ignore', 'ipc'],
  });
  return new Promise((resolve) => {
    let failed: string | null = null;
    child.on('message', (m: ChildMessage) => {
      if (m.ready) {
        child.disconnect();
        child.unref();
        resolve(0);
      } else if (m.error) {
        failed = m.error;
      }
    });
    child.on('error', (e) => {
      process.stderr.write(`failed to start daemon: ${e.message}\n`);
      resolve(EX_OSERR);
    });
    child.on('exit', (code, signal) => {
      if (failed) process.stderr.write(`${failed}\n`);
      else process.stderr.write(`daemon exited before listening (${signal ?? `exit code ${code}`})\n`);
      resolve(code || 1);
    });
  });
}

/** Child side of -d: tell the waiting parent we listen, then let go of it. */
export function notifyDaemonParent(): void {
  if (!process.send) return;
  process.send({ ready: true } satisfies ChildMessage, () => {
    if (process.connected) process.disconnect();
  });
}

/** Child side of -d: the startup error the parent should print before exiting. */
export function reportDaemonFailure(message: string, done: () => void): void {
  if (!process.send || !process.connected) {
    done();
    return;
  }
  process.send({ error: message } satisfies ChildMessage, () => done());
}

// ---- signals ----------------------------------------------------------------

export interface SignalHooks {
  /** stop accepting, finish in-flight replies, close, exit 0 */
  stop(reason: string): void;
  /** log line at -v (memcached prints these when it handles a signal) */
  log(message: string): void;
}

/**
 * SIGTERM, SIGINT: memcached stops its loop and exits 0; we stop gracefully
 * (in-flight replies finish, bounded by stop()). SIGUSR1: memcached's graceful
 * stop, same here. With -e, SIGUSR1 and SIGTERM then save (stopSavesSnapshot). SIGHUP: memcached only records it (no config reload, no log
 * files to reopen), so it must not kill us as it would by default. A second
 * SIGINT/SIGTERM while stopping exits at once.
 * Returns a function that removes the handlers.
 */
export function installSignalHandlers(h: SignalHooks): () => void {
  let stopping = false;
  const onStop = (sig: NodeJS.Signals, text: string, graceful: boolean) => (): void => {
    if (stopping) {
      process.exit(0);
    }
    stopping = true;
    h.log(graceful ? `Graceful shutdown signal handled: ${text}.` : `Signal handled: ${text}.`);
    h.stop(sig);
  };
  const handlers: [NodeJS.Signals, () => void][] = [
    ['SIGTERM', onStop('SIGTERM', 'Terminated', false)],
    ['SIGINT', onStop('SIGINT', 'Interrupt', false)],
    ['SIGUSR1', onStop('SIGUSR1', 'User defined signal 1', true)],
    ['SIGHUP', () => h.log('SIGHUP handled: nothing to reload.')],
  ];
  for (const [sig, fn] of handlers) process.on(sig, fn);
  return () => {
    for (const [sig, fn] of handlers) process.off(sig, fn);
  };
}

// ---- graceful stop ----------------------------------------------------------

/**
 * The stops that save the -e snapshot: SIGUSR1, memcached's graceful stop (and the
 * `shutdown graceful` command), and SIGTERM, which `systemctl stop` and `restart`
 * send. memcached saves on SIGUSR1 only; SIGINT (Ctrl-C, plain `shutdown`) saves
 * nothing here either.
 */
export function stopSavesSnapshot(reason: string): boolean {
  return reason === 'SIGUSR1' || reason === 'SIGTERM';
}

/** How long in-flight replies get to drain before connections are cut. */
export const DRAIN_TIMEOUT_MS = 10_000;

/** Anything that stops accepting on close(): net/tls servers, dgram sockets. */
export interface Closable {
  close(cb?: () => void): unknown;
}

/**
 * Stops accepting, then lets each open connection finish writing what it has
 * queued (end() flushes, then FIN), cutting any still writing after timeoutMs.
 * Resolves when everything is closed.
 */
export async function drainAndClose(
  listeners: readonly Closable[],
  sockets: Iterable<net.Socket>,
  timeoutMs = DRAIN_TIMEOUT_MS,
): Promise<void> {
  const closed = listeners.map((l) => new Promise<void>((resolve) => {
    try {
      l.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  }));
  const pending: Promise<void>[] = [];
  // a connection gives back what it holds of the engine (a half-read upload, pins)
  // on 'close', which follows destroy() a turn later: the caller may save the engine
  // next, so nothing may still be due to change it when this resolves
  const gone: Promise<void>[] = [];
  for (const s of sockets) {
    if (!s.closed) gone.push(new Promise<void>((resolve) => s.once('close', () => resolve())));
    if (s.destroyed) continue;
    pending.push(new Promise<void>((resolve) => {
      // 'finish': every queued byte reached the kernel, which delivers it after
      // close() too (FIN follows the data); no need to wait for the peer's FIN
      s.once('finish', () => resolve());
      s.once('close', () => resolve());
      s.end();
    }));
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  await Promise.race([Promise.all(pending), timeout]);
  clearTimeout(timer);
  for (const s of sockets) if (!s.destroyed) s.destroy();
  await Promise.all(gone);
  await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, 100).unref())]);
}
