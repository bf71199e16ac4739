/**
 * Authentication, as memcached 1.6 does it:
 *
 * - `-S`: binary SASL. We offer PLAIN and check it against the password database
 *   that MEMCACHED_SASL_PWDB names (cli/ puts the path in settings.saslPwdb), with
 *   the rules of memcached's sasl_server_userdb_checkpass: the file is re-read on
 *   every attempt, the first `user:` line decides, and the password must be
 *   followed by `:`, end of line or end of file.
 * - `-Y FILE`: ascii auth (try_read_command_asciiauth). Until authenticated, the
 *   only thing a text connection may send is `set <any> <any> <any> <n>\r\n` with a
 *   data block `user pass\r\n`; FILE holds `user:pass` lines (at most 8, as
 *   memcached's authfile.c reads), loaded once.
 *
 * Authentication is cold: strings and file reads are fine here.
 */
import { readFileSync } from 'node:fs';
import type { ProtoConn, ServerContext } from './context.js';
import { Words } from './text-parse.js';
import { STORED } from './wire.js';

/** What SASL_LIST_MECHS answers (memcached with `mech_list: plain`). */
export const SASL_MECHS = Buffer.from('PLAIN');
export const SASL_AUTHENTICATED = Buffer.from('Authenticated');

export const SASL_OK = 0;
export const SASL_CONTINUE = 1;
export const SASL_FAIL = 2;

/** memcached's sasl_defs.c line buffer: longer user+password never match */
const MAX_ENTRY_LEN = 256;

/** sasl_server_userdb_checkpass over the file at `path`; false if unreadable. */
export function checkPwdb(path: string | null, user: Buffer, pass: Buffer): boolean {
  if (path === null) return false;
  if (user.length + pass.length > MAX_ENTRY_LEN - 4) return false;
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch {
    return false;
  }
  let pos = 0;
  while (pos < text.length) {
    let nl = text.indexOf(0x0a, pos);
    nl = nl < 0 ? text.length : nl + 1;
    // fgets reads at most MAX_ENTRY_LEN - 1 bytes per call: long lines come in pieces
    const lineEnd = Math.min(nl, pos + MAX_ENTRY_LEN - 1);
    const line = text.subarray(pos, lineEnd);
    pos = lineEnd;
    const ul = user.length;
    if (line.length > ul && line.subarray(0, ul).equals(user) && line[ul] === 0x3a) {
      const ps = ul + 1;
      if (line.length < ps + pass.length || !line.subarray(ps, ps + pass.length).equals(pass)) return false;
      const after = ps + pass.length < line.length ? line[ps + pass.length] : 0;
      return after === 0x3a || after === 0x0a || after === 0x0d || after === 0;
    }
  }
  return false;
}

/**
 * One SASL_AUTH (step false) or SASL_STEP (step true) with mechanism `mech` and
 * client data `data`, as cyrus-sasl's PLAIN answers through memcached. `started`
 * says whether a previous AUTH left the exchange open (PLAIN with no initial
 * response asks for it with a CONTINUE). Counts auth_cmds/auth_errors.
 */
export function saslExchange(ctx: ServerContext, conn: ProtoConn, step: boolean, started: boolean,
  mech: Buffer, data: Buffer): number {
  let result: number;
  if (step && !started) {
    result = SASL_FAIL;
  } else if (!step && !mech.equals(SASL_MECHS)) {
    result = SASL_FAIL; // cyrus: no such mechanism
  } else if (!step && data.length === 0) {
    return SASL_CONTINUE; // PLAIN without an initial response: send it in a STEP
  } else {
    result = checkPlain(ctx, data) ? SASL_OK : SASL_FAIL;
  }
  const c = ctx.counters;
  c.auth_cmds++;
  if (result === SASL_OK) conn.authenticated = true;
  else c.auth_errors++;
  return result;
}

/** PLAIN's `authzid NUL authcid NUL password`; an authzid must name the same user. */
function checkPlain(ctx: ServerContext, msg: Buffer): boolean {
  const z = msg.indexOf(0);
  if (z < 0) return false;
  const u = msg.indexOf(0, z + 1);
  if (u < 0) return false;
  const authzid = msg.subarray(0, z);
  const user = msg.subarray(z + 1, u);
  const pass = msg.subarray(u + 1);
  if (pass.indexOf(0) >= 0 || user.length === 0) return false;
  if (authzid.length > 0 && !authzid.equals(user)) return false;
  return checkPwdb(ctx.settings.saslPwdb, user, pass);
}

// ------------------------------------------------------------------ ascii auth (-Y)

/** authfile.c: at most this many `user:pass` entries are read */
const AUTHFILE_MAX_ENTRIES = 8;
const authFiles = new WeakMap<ServerContext, Array<[string, string]>>();

/** The -Y file's entries, read once per daemon (memcached loads it at start). */
function authEntries(ctx: ServerContext): Array<[string, string]> {
  let e = authFiles.get(ctx);
  if (e !== undefined) return e;
  e = [];
  const path = ctx.settings.authFile;
  if (path !== null) {
    let text = '';
    try {
      text = readFileSync(path, 'latin1');
    } catch {
      // unreadable: nobody gets in (cli/ refuses to start on a missing file)
    }
    for (const raw of text.split('\n')) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      e.push([line.slice(0, colon), line.slice(colon + 1)]);
      if (e.length === AUTHFILE_MAX_ENTRIES) break;
    }
  }
  authFiles.set(ctx, e);
  return e;
}

/** Does a text connection have to authenticate before its first command? */
export function textAuthRequired(ctx: ServerContext): boolean {
  return ctx.settings.sasl || ctx.settings.authFile !== null;
}

const UNAUTHENTICATED = Buffer.from('CLIENT_ERROR unauthenticated\r\n');
const BAD_TERMINATION = Buffer.from('CLIENT_ERROR bad command line termination\r\n');
const BAD_FORMAT = Buffer.from('CLIENT_ERROR bad authentication token format\r\n');
const AUTH_FAILURE = Buffer.from('CLIENT_ERROR authentication failure\r\n');

/**
 * memcached 1.6.18 answers unauthenticated ascii requests from one response object
 * that it never queues: each reply overwrites the last, and only the final one of
 * a read goes out. So, within one batch, a new auth reply replaces the previous
 * one; `authReplies` remembers where that one sits in conn.out.
 */
const authReplies = new WeakMap<ProtoConn, { buf: Buffer; start: number; end: number }>();

function replyStart(conn: ProtoConn): ProtoConn['out'] {
  const out = conn.out;
  const last = authReplies.get(conn);
  // still the last bytes of this batch, in the same chunk and not yet flushed
  if (last !== undefined && last.buf === out.buf && last.end === out.len && last.start >= out.batchStart &&
    last.end > last.start) out.len = last.start;
  return out;
}

function reply(conn: ProtoConn, line: Buffer): void {
  const out = replyStart(conn);
  const start = out.mark();
  out.bytes(line);
  authReplies.set(conn, { buf: out.buf, start, end: out.len });
}

/** The words of buf[start, end) as strings: a cold path, until the client authenticates. */
function words(buf: Buffer, start: number, end: number): string[] {
  const w = new Words();
  const n = w.split(buf, start, end);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(w.str(buf, i));
  return out;
}

/**
 * One request on an unauthenticated text connection: buf[start, next) is a line
 * ending in \n at `eol`, bytes up to `end` are available. Returns the index past
 * what was consumed, or -1 to wait for more bytes (the data block).
 */
export function textAuth(ctx: ServerContext, conn: ProtoConn, buf: Buffer, start: number,
  eol: number, next: number, end: number): number {
  if (ctx.settings.sasl && ctx.settings.authFile === null) {
    // -S is binary only: memcached reads a text byte as a bad magic and closes
    conn.closeAfterWrite();
    return end;
  }
  // memcached tokenizes up to the \n, leaving a \r on the last word
  const w = words(buf, start, eol);
  const sizeWord = w.length >= 5 ? w[4].replace(/[\r\t\v\f ]+$/, '') : '';
  if (w.length < 5 || w[0] !== 'set' || !/^\d{1,10}$/.test(sizeWord) || Number(sizeWord) > 0xffffffff) {
    reply(conn, UNAUTHENTICATED);
    return next;
  }
  const need = Number(sizeWord) + 2;
  if (end - next < need) return -1;
  const stop = next + need;
  if (buf[stop - 2] !== 0x0d || buf[stop - 1] !== 0x0a) {
    reply(conn, BAD_TERMINATION);
    return stop;
  }
  const t = words(buf, next, stop - 2);
  if (t.length < 2) {
    reply(conn, BAD_FORMAT);
    return stop;
  }
  const ok = authEntries(ctx).some(([u, p]) => u === t[0] && p === t[1]);
  ctx.counters.auth_cmds++;
  if (ok) {
    conn.authenticated = true;
    reply(conn, STORED);
  } else {
    ctx.counters.auth_errors++;
    reply(conn, AUTH_FAILURE);
  }
  return stop;
}
