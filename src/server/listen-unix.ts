/**
 * `-s PATH -a MASK`: a unix domain stream socket. memcached unlinks whatever
 * socket file is in the way; we only replace a stale one (left by a crashed run:
 * nobody answers on it) and refuse to steal a live one from a running daemon.
 */
import fs from 'node:fs';
import net from 'node:net';

export interface UnixListenOptions {
  path: string;
  /** -a, octal permission bits for the socket file (memcached default 0700) */
  mask: number;
  backlog: number;
  /** gets each accepted socket paused: nothing is read until it is resumed or adopted */
  onConnection: (socket: net.Socket) => void;
  /** false: the caller has set the umask for the bind (a worker thread may not) */
  umask?: boolean;
}

/** Listens on opts.path; rejects with a message that says what is wrong. */
export async function listenUnix(opts: UnixListenOptions): Promise<net.Server> {
  await clearStaleSocket(opts.path);
  // paused: the connection takes the handle over before its first read (fast-read.ts)
  const server = net.createServer({ pauseOnConnect: true }, opts.onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new Error(`failed to listen on UNIX socket "${opts.path}": ${err.message}`));
    });
    // as memcached does: the umask decides the mode the file is created with, so
    // there is no moment in which it exists with looser permissions than -a says
    // (a unix listen binds synchronously inside listen(), so the umask is back at
    // once and nothing else in this process can create a file meanwhile)
    // a worker thread cannot set the umask: the main thread sets it around the bind
    const old = opts.umask === false ? null : process.umask(~opts.mask & 0o777);
    try {
      server.listen({ path: opts.path, backlog: opts.backlog }, () => resolve());
    } finally {
      if (old !== null) process.umask(old);
    }
  });
  // and exactly -a's bits, whatever the umask could not express (it only clears bits)
  fs.chmodSync(opts.path, opts.mask & 0o777);
  return server;
}

/**
 * Removes a socket file that nothing listens on. A live socket (a connect
 * succeeds) or a path that is not a socket is left alone and reported.
 */
export async function clearStaleSocket(path: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(path);
  } catch {
    return; // nothing there
  }
  if (!st.isSocket()) {
    throw new Error(`failed to listen on UNIX socket "${path}": file exists and is not a socket`);
  }
  const probe = await new Promise<string>((resolve) => {
    const c = net.connect({ path });
    c.once('connect', () => {
      c.destroy();
      resolve('live');
    });
    c.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
  if (probe === 'live') {
    throw new Error(`failed to listen on UNIX socket "${path}": another process is serving it`);
  }
  if (probe !== 'ECONNREFUSED' && probe !== 'ENOENT') {
    // e.g. EACCES: we cannot tell whether it is live, so do not take it
    throw new Error(`failed to listen on UNIX socket "${path}": cannot probe existing socket (${probe})`);
  }
  fs.unlinkSync(path);
}
