/**
 * Differential tests: play one script to the real memcached and to slabcache, and compare
 * what each answered, byte for byte (after masking what is volatile: pids, clocks, versions,
 * connection ids, CAS values if asked).
 *
 *   await playBoth(t, [
 *     'set a 0 0 1\r\nx\r\n',
 *     'get a\r\n',
 *     { send: 'stats\r\n', until: 'END\r\n' },
 *   ]);
 *
 * Each step is sent whole, then its reply is collected until it is complete. By default the
 * end of a reply is found with a sentinel: right after the step we send a no-op the server
 * answers in order (`mn\r\n` -> `MN\r\n`; a binary NOOP after binary steps) and read up to
 * its answer, which is then cut off. So nothing waits on a timer unless a step asks for
 * `until: 'quiet'`.
 *
 * With `compare: 'transcript'` (default) one assertion compares the two whole transcripts,
 * so a failure shows every step in context; `compare: 'steps'` asserts step by step.
 */
import type { ExecutionContext } from 'ava';
import { startMemcached, startSlabcache } from './memcached.js';
import { DEFAULT_TIMEOUT_MS, RawClient, toBuffer, visible, type Address } from './telnet.js';

export type Side = 'memcached' | 'slabcache';

/**
 * When a step's reply is complete:
 * - 'sentinel': send a no-op after the step and read up to its reply (the default)
 * - 'close':    read until the server closes the connection
 * - 'quiet':    wait for the reply's first byte, then read until nothing arrives for `quietMs`
 *               (last resort: it waits; a step with no reply at all times out)
 * - 'none':     do not read; the reply lands in the next step's
 * - a string or Buffer: read up to and including this terminator (e.g. 'END\r\n')
 * - a RegExp:   read until the reply (as latin1 text) matches
 * - a number:   read exactly this many bytes
 */
export type Until = 'sentinel' | 'close' | 'quiet' | 'none' | string | Buffer | RegExp | number;

export interface Step {
  send: string | Buffer;
  until?: Until;
}

export type ScriptItem = string | Buffer | Step;

export interface MaskOptions {
  /** volatile `STAT` values: pid, uptime, time, version, libevent, rusage_*, ports, connection counts (default: true) */
  stats?: boolean;
  /** `VERSION x.y.z` replies (default: true) */
  version?: boolean;
  /** connection ids and peer addresses, as in `stats conns` (default: true) */
  conns?: boolean;
  /** CAS values: the 5th field of `VALUE` lines, meta `c` flags, binary header CAS (default: false) */
  cas?: boolean;
  /** more rewrites, applied last */
  replace?: ReadonlyArray<readonly [RegExp, string]>;
}

export type MaskFn = (reply: string, side: Side) => string;

export interface PlayOptions {
  /** flags for both servers */
  args?: string[];
  memcachedArgs?: string[];
  slabcacheArgs?: string[];
  /** play against servers already running instead of starting two */
  servers?: Record<Side, Address>;
  /** default `until` for steps that don't say (default: 'sentinel') */
  until?: Until;
  /** the text no-op used by 'sentinel' (default: 'mn'; 'version' for servers without meta commands) */
  sentinel?: 'mn' | 'version';
  /** volatile-field masking: options, or your own function (default: maskVolatile's defaults) */
  mask?: MaskOptions | MaskFn;
  compare?: 'transcript' | 'steps';
  /** how long one step may take (default: 3000 ms) */
  timeoutMs?: number;
  /** silence that ends a 'quiet' step (default: 100 ms) */
  quietMs?: number;
}

export interface Reply {
  request: Buffer;
  /** raw bytes received for this step (sentinel reply removed) */
  bytes: Buffer;
  /** masked, as compared */
  text: string;
  closed: boolean;
  timedOut: boolean;
}

export interface Played {
  replies: Reply[];
  transcript: string;
}

const MN = Buffer.from('MN\r\n');
const VERSION_LINE = /(^|\n)VERSION [^\r\n]*\r\n$/;
const BINARY_REQ = 0x80;
const BINARY_RES = 0x81;
const BINARY_HEADER = 24;
const OP_NOOP = 0x0a;

/** A binary-protocol NOOP request: magic, opcode, and zeros. */
function binaryNoop(): Buffer {
  const b = Buffer.alloc(BINARY_HEADER);
  b[0] = BINARY_REQ;
  b[1] = OP_NOOP;
  return b;
}

/**
 * Offset just past the NOOP response that ends the binary replies in `b`, or -1.
 * Walks whole frames (24-byte header + body length) so body bytes are never mistaken for it.
 */
function binaryNoopEnd(b: Buffer): number {
  let at = 0;
  while (at + BINARY_HEADER <= b.length) {
    if (b[at] !== BINARY_RES) return -1;
    const end = at + BINARY_HEADER + b.readUInt32BE(at + 8);
    if (end > b.length) return -1;
    if (b[at + 1] === OP_NOOP) return end;
    at = end;
  }
  return -1;
}

/** Masks applied before comparing, so only meaningful bytes can differ. */
export function maskVolatile(reply: string, opts: MaskOptions = {}): string {
  let r = reply;
  if (opts.stats ?? true) {
    r = r.replace(
      /^STAT (pid|uptime|time|version|libevent|pointer_size|rusage_user|rusage_system|tcpport|curr_connections|total_connections|connection_structures|reserved_fds|rejected_connections|threads) [^\r\n]*/gm,
      'STAT $1 <$1>',
    );
  }
  if (opts.version ?? true) r = r.replace(/^VERSION [^\r\n]*/gm, 'VERSION <version>');
  if (opts.conns ?? true) {
    r = r.replace(/^STAT \d+:/gm, 'STAT <conn>:');
    r = r.replace(/\b(tcp|udp|unix):[^\s\r\n]*/g, '$1:<addr>');
    r = r.replace(/\b\d{1,3}(\.\d{1,3}){3}:\d+\b/g, '<addr>');
  }
  if (opts.cas ?? false) {
    r = r.replace(/^(VALUE \S+ \d+ \d+) \d+/gm, '$1 <cas>');
    // meta replies carry the CAS as a `c<number>` flag
    r = r.replace(/^(?:VA \d+|HD|EN|NF|NS|EX|ME \S+)(?: [^\r\n]*)?(?=\r?$)/gm, (line) => line.replace(/ c\d+/g, ' c<cas>'));
  }
  for (const [re, to] of opts.replace ?? []) r = r.replace(re, to);
  return r;
}

/** Zero the CAS field of every binary response frame (bytes 16..23 of each header). */
function maskBinaryCas(b: Buffer): Buffer {
  if (b.length < BINARY_HEADER || b[0] !== BINARY_RES) return b;
  const out = Buffer.from(b);
  let at = 0;
  while (at + BINARY_HEADER <= out.length && out[at] === BINARY_RES) {
    out.fill(0, at + 16, at + 24);
    at += BINARY_HEADER + out.readUInt32BE(at + 8);
  }
  return out;
}

function stepOf(item: ScriptItem, defaultUntil: Until): Required<Step> {
  if (typeof item === 'string' || Buffer.isBuffer(item)) return { send: item, until: defaultUntil };
  return { send: item.send, until: item.until ?? defaultUntil };
}

/** Collect one step's reply according to `until`. */
async function collect(
  client: RawClient,
  request: Buffer,
  until: Until,
  opts: PlayOptions,
): Promise<{ bytes: Buffer; closed: boolean; timedOut: boolean }> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const give = (r: { bytes: Buffer; timedOut: boolean; closed: boolean }): { bytes: Buffer; closed: boolean; timedOut: boolean } => {
    // on timeout or close, keep whatever did arrive so the diff shows it
    const bytes = r.bytes.length > 0 ? r.bytes : client.drain();
    return { bytes, closed: client.isClosed, timedOut: r.timedOut };
  };
  const untilClosed = (b: Buffer, closed: boolean): number => (closed ? b.length : -1);

  if (until === 'none') return { bytes: Buffer.alloc(0), closed: client.isClosed, timedOut: false };
  if (until === 'close') return give(await client.waitFor(untilClosed, timeoutMs));
  if (until === 'quiet') {
    const quietMs = opts.quietMs ?? 100;
    const deadline = Date.now() + timeoutMs;
    // the reply's first byte ends the wait for the server to start answering: silence
    // before it is a slow (loaded) server, not the end of a reply
    const first = await client.waitFor((b, closed) => (b.length > 0 || closed ? 0 : -1), timeoutMs);
    if (first.timedOut) return { bytes: client.drain(), closed: client.isClosed, timedOut: true };
    let seen = -1;
    // each round waits until a byte arrives or quietMs passes; silence ends the step
    while (Date.now() < deadline && !client.isClosed) {
      seen = client.pending.length;
      const r = await client.waitFor((b, closed) => (b.length > seen || closed ? 0 : -1), quietMs);
      if (r.timedOut) break;
    }
    return { bytes: client.drain(), closed: client.isClosed, timedOut: false };
  }
  if (typeof until === 'number') {
    return give(await client.waitFor((b, closed) => (b.length >= until ? until : closed ? b.length : -1), timeoutMs));
  }
  if (until instanceof RegExp) {
    return give(await client.waitFor((b, closed) => (until.test(b.toString('latin1')) || closed ? b.length : -1), timeoutMs));
  }
  if (until !== 'sentinel') {
    const term = toBuffer(until);
    return give(
      await client.waitFor((b, closed) => {
        const at = b.indexOf(term);
        return at >= 0 ? at + term.length : closed ? b.length : -1;
      }, timeoutMs),
    );
  }

  // sentinel: a no-op after the step; its reply marks the end of this step's replies
  if (request.length > 0 && request[0] === BINARY_REQ) {
    await client.send(binaryNoop()).catch(() => {});
    const r = give(await client.waitFor((b, closed) => (binaryNoopEnd(b) >= 0 ? binaryNoopEnd(b) : closed ? b.length : -1), timeoutMs));
    const end = binaryNoopEnd(r.bytes);
    if (end === r.bytes.length) r.bytes = r.bytes.subarray(0, end - BINARY_HEADER);
    return r;
  }
  const version = opts.sentinel === 'version';
  await client.send(version ? 'version\r\n' : 'mn\r\n').catch(() => {});
  const atLineStart = (b: Buffer, at: number): boolean => at === 0 || b[at - 1] === 0x0a;
  const r = give(
    await client.waitFor((b, closed) => {
      if (version) return VERSION_LINE.test(b.toString('latin1')) ? b.length : closed ? b.length : -1;
      const at = b.length - MN.length;
      return at >= 0 && b.subarray(at).equals(MN) && atLineStart(b, at) ? b.length : closed ? b.length : -1;
    }, timeoutMs),
  );
  if (!r.timedOut) {
    const s = r.bytes.toString('latin1');
    if (version) {
      const m = VERSION_LINE.exec(s);
      if (m !== null) r.bytes = r.bytes.subarray(0, m.index + m[1].length);
    } else if (s.endsWith('MN\r\n') && atLineStart(r.bytes, r.bytes.length - MN.length)) {
      r.bytes = r.bytes.subarray(0, r.bytes.length - MN.length);
    }
  }
  return r;
}

function maskFn(opts: PlayOptions): MaskFn {
  const m = opts.mask;
  if (typeof m === 'function') return m;
  return (reply) => maskVolatile(reply, m ?? {});
}

function casMasked(opts: PlayOptions): boolean {
  return typeof opts.mask === 'object' && opts.mask.cas === true;
}

/** One step as transcript lines: `> ` what was sent, `< ` what came back. */
export function formatStep(request: Buffer, replyText: string, closed: boolean, timedOut: boolean): string {
  const lines: string[] = [];
  const side = (prefix: string, text: string): void => {
    if (text === '') return;
    for (const line of visible(text).replace(/\n$/, '').split('\n')) lines.push(prefix + line);
  };
  side('> ', request.toString('latin1'));
  side('< ', replyText);
  if (timedOut) lines.push('< [no complete reply: timed out]');
  if (closed) lines.push('< [connection closed]');
  return lines.join('\n');
}

/** Play `script` to one server and return its replies and transcript (no assertions). */
export async function playOne(server: Address, script: readonly ScriptItem[], opts: PlayOptions = {}, side: Side = 'memcached'): Promise<Played> {
  const client = await RawClient.connect(server.port, server.host);
  const mask = maskFn(opts);
  const replies: Reply[] = [];
  try {
    for (const item of script) {
      const step = stepOf(item, opts.until ?? 'sentinel');
      const request = toBuffer(step.send);
      let got: { bytes: Buffer; closed: boolean; timedOut: boolean };
      if (client.isClosed) {
        got = { bytes: Buffer.alloc(0), closed: true, timedOut: false };
      } else {
        if (request.length > 0) await client.send(request).catch(() => {});
        got = await collect(client, request, step.until, opts);
      }
      const bytes = casMasked(opts) ? maskBinaryCas(got.bytes) : got.bytes;
      replies.push({ request, bytes: got.bytes, text: mask(bytes.toString('latin1'), side), closed: got.closed, timedOut: got.timedOut });
    }
  } finally {
    await client.close();
  }
  const transcript = replies.map((r) => formatStep(r.request, r.text, r.closed, r.timedOut)).join('\n');
  return { replies, transcript };
}

/**
 * Play `script` to real memcached and to slabcache (started with opts.args, or opts.servers),
 * assert the masked replies are equal, and return both sides for further checks.
 */
export async function playBoth(t: ExecutionContext, script: readonly ScriptItem[], opts: PlayOptions = {}): Promise<Record<Side, Played>> {
  let servers = opts.servers;
  if (servers === undefined) {
    const [memcached, slabcache] = await Promise.all([
      startMemcached(t, [...(opts.args ?? []), ...(opts.memcachedArgs ?? [])]),
      startSlabcache(t, [...(opts.args ?? []), ...(opts.slabcacheArgs ?? [])]),
    ]);
    servers = { memcached, slabcache };
  }
  const [memcached, slabcache] = await Promise.all([
    playOne(servers.memcached, script, opts, 'memcached'),
    playOne(servers.slabcache, script, opts, 'slabcache'),
  ]);
  if (opts.compare === 'steps') {
    memcached.replies.forEach((want, i) => {
      const got = slabcache.replies[i];
      t.is(
        formatStep(got.request, got.text, got.closed, got.timedOut),
        formatStep(want.request, want.text, want.closed, want.timedOut),
        `step ${i + 1}: slabcache (actual) vs memcached (expected)`,
      );
    });
  } else {
    t.is(slabcache.transcript, memcached.transcript, 'slabcache transcript (actual) vs memcached (expected)');
  }
  return { memcached, slabcache };
}
