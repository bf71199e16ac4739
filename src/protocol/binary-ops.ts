/**
 * The binary opcodes that need no value streaming: gets and touches, delete,
 * incr/decr, flush, noop, version, stat, quit, and the unknown-opcode answer.
 * Checks and replies follow proto_bin.c's dispatch_bin_command case by case.
 */
import { NIL as NIL_ } from '../cache/engine.js';
import type { ArithResult } from '../cache/arith.js';
import {
  DELETED as DELETED_, EXISTS as EXISTS_, NO_MEMORY as NO_MEMORY_, NON_NUMERIC as NON_NUMERIC_,
  NOT_FOUND as NOT_FOUND_, NOT_STORED as NOT_STORED_, OK as OK_, STORED as STORED_, Status,
  TOO_LARGE as TOO_LARGE_,
} from '../cache/status.js';
import { VERSION as VERSION_ } from '../stats/general.js';
import { recordDelete, recordGet, statsReport } from '../stats/report.js';
import type { ProtoConn, ServerContext } from './context.js';
import type { Output } from './output.js';
import {
  CMD_ADD as CMD_ADD_, CMD_DECREMENT as CMD_DECREMENT_, CMD_DELETE as CMD_DELETE_, CMD_FLUSH as CMD_FLUSH_,
  CMD_GAT as CMD_GAT_, CMD_GATK as CMD_GATK_, CMD_GET as CMD_GET_, CMD_GETK as CMD_GETK_,
  CMD_INCREMENT as CMD_INCREMENT_, CMD_NOOP as CMD_NOOP_, CMD_QUIT as CMD_QUIT_, CMD_REPLACE as CMD_REPLACE_,
  CMD_STAT as CMD_STAT_, CMD_TOUCH as CMD_TOUCH_, CMD_VERSION as CMD_VERSION_,
  RESPONSE_AUTH_ERROR as RESPONSE_AUTH_ERROR_, RESPONSE_DELTA_BADVAL as RESPONSE_DELTA_BADVAL_,
  RESPONSE_EINVAL as RESPONSE_EINVAL_, RESPONSE_ENOMEM as RESPONSE_ENOMEM_,
  RESPONSE_KEY_EEXISTS as RESPONSE_KEY_EEXISTS_, RESPONSE_KEY_ENOENT as RESPONSE_KEY_ENOENT_,
  RESPONSE_NOT_STORED as RESPONSE_NOT_STORED_, RESPONSE_UNKNOWN_COMMAND as RESPONSE_UNKNOWN_COMMAND_,
  errorReply, header, u32At,
} from './binary-codes.js';
import { PROTOCOL_VERSION as PROTOCOL_VERSION_ } from './text.js';
import { u64FromHalves } from '../cache/numeric.js';

/**
 * Local copies of imported constants: an imported binding is read through its
 * module cell, with a hole check, at every use even in optimized code, where a
 * module's own unexported const is folded in as a number.
 */
const CMD_ADD = CMD_ADD_;
const CMD_DECREMENT = CMD_DECREMENT_;
const CMD_DELETE = CMD_DELETE_;
const CMD_FLUSH = CMD_FLUSH_;
const CMD_GAT = CMD_GAT_;
const CMD_GATK = CMD_GATK_;
const CMD_GET = CMD_GET_;
const CMD_GETK = CMD_GETK_;
const CMD_INCREMENT = CMD_INCREMENT_;
const CMD_NOOP = CMD_NOOP_;
const CMD_QUIT = CMD_QUIT_;
const CMD_REPLACE = CMD_REPLACE_;
const CMD_STAT = CMD_STAT_;
const CMD_TOUCH = CMD_TOUCH_;
const CMD_VERSION = CMD_VERSION_;
const DELETED = DELETED_;
const EXISTS = EXISTS_;
const NIL = NIL_;
const NON_NUMERIC = NON_NUMERIC_;
const NOT_FOUND = NOT_FOUND_;
const NOT_STORED = NOT_STORED_;
const NO_MEMORY = NO_MEMORY_;
const OK = OK_;
const PROTOCOL_VERSION = PROTOCOL_VERSION_;
const RESPONSE_AUTH_ERROR = RESPONSE_AUTH_ERROR_;
const RESPONSE_DELTA_BADVAL = RESPONSE_DELTA_BADVAL_;
const RESPONSE_EINVAL = RESPONSE_EINVAL_;
const RESPONSE_ENOMEM = RESPONSE_ENOMEM_;
const RESPONSE_KEY_EEXISTS = RESPONSE_KEY_EEXISTS_;
const RESPONSE_KEY_ENOENT = RESPONSE_KEY_ENOENT_;
const RESPONSE_NOT_STORED = RESPONSE_NOT_STORED_;
const RESPONSE_UNKNOWN_COMMAND = RESPONSE_UNKNOWN_COMMAND_;
const STORED = STORED_;
const TOO_LARGE = TOO_LARGE_;
const VERSION = VERSION_;

/** The request being handled, as BinaryProtocol holds it. */
export interface Request {
  /** opcode as sent (replies echo it) */
  readonly opcode: number;
  /** the loud form of the opcode */
  readonly cmd: number;
  readonly noreply: boolean;
  readonly keylen: number;
  readonly extlen: number;
  readonly bodylen: number;
  readonly opaque: number;
  readonly cas: number;
  /** the connection's own incr/decr result, reused */
  readonly arithRes: ArithResult;
  swallow(n: number): void;
  fatal(status: number): void;
}

/** Same words as the text protocol's `version`, so clients see one server. */
const VERSION_BODY = Buffer.from(`${PROTOCOL_VERSION}-slabcache-${VERSION}`);
const NO_AUTOCREATE = 0xffffffff;

/** Everything but stores and SASL. `es` is where extras start, `ks` the key. */
export function dispatch(req: Request, ctx: ServerContext, conn: ProtoConn, buf: Buffer, es: number, ks: number): void {
  const { keylen: kl, extlen: el, bodylen: bl } = req;
  const out = conn.out;
  switch (req.cmd) {
    case CMD_VERSION:
      if (el !== 0 || kl !== 0 || bl !== 0) return req.fatal(RESPONSE_EINVAL);
      return success(req, out, VERSION_BODY);
    case CMD_FLUSH:
      if (kl !== 0 || bl !== el || (el !== 0 && el !== 4)) return req.fatal(RESPONSE_EINVAL);
      if (!ctx.settings.flushEnabled) return errorReply(out, req.opcode, RESPONSE_AUTH_ERROR, req.opaque);
      ctx.cache.flush(el === 4 ? buf.readUInt32BE(es) : 0);
      ctx.counters.cmd_flush++;
      return success(req, out, null);
    case CMD_NOOP:
      if (el !== 0 || kl !== 0 || bl !== 0) return req.fatal(RESPONSE_EINVAL);
      return success(req, out, null);
    case CMD_GET:
    case CMD_GETK:
      if (el !== 0 || bl !== kl || kl === 0) return req.fatal(RESPONSE_EINVAL);
      return getOrTouch(req, ctx, out, buf, es, ks);
    case CMD_TOUCH:
    case CMD_GAT:
    case CMD_GATK:
      if (el !== 4 || kl === 0) return req.fatal(RESPONSE_EINVAL);
      return getOrTouch(req, ctx, out, buf, es, ks);
    case CMD_DELETE: {
      if (kl === 0 || el !== 0 || bl !== kl) return req.fatal(RESPONSE_EINVAL);
      recordDelete(ctx, buf, ks, kl);
      const st = ctx.cache.delete(buf, ks, kl, req.cas);
      if (st === DELETED) return success(req, out, null);
      return errorReply(out, req.opcode, st === EXISTS ? RESPONSE_KEY_EEXISTS : RESPONSE_KEY_ENOENT, req.opaque);
    }
    case CMD_INCREMENT:
    case CMD_DECREMENT:
      if (kl === 0 || el !== 20 || bl !== kl + el) return req.fatal(RESPONSE_EINVAL);
      return arith(req, ctx, out, buf, es, ks);
    case CMD_STAT:
      if (el !== 0) return req.fatal(RESPONSE_EINVAL);
      return stat(req, ctx, conn, buf, ks);
    case CMD_QUIT:
      if (kl !== 0 || el !== 0 || bl !== 0) return req.fatal(RESPONSE_EINVAL);
      success(req, out, null);
      conn.closeAfterWrite();
      return;
    default:
      // NOTE: memcached has already consumed extras and key here and still
      // swallows the whole body length after them; we do the same, byte for byte
      errorReply(out, req.opcode, RESPONSE_UNKNOWN_COMMAND, req.opaque);
      req.swallow(bl);
  }
}

/** write_bin_response: silent for quiet opcodes. */
function success(req: Request, out: Output, body: Buffer | null, cas = 0): void {
  if (req.noreply) return;
  header(out, req.opcode, 0, 0, 0, body === null ? 0 : body.length, req.opaque, cas);
  if (body !== null) out.bytes(body);
}

/** The reply to a finished store (complete_update_bin). */
export function storeReply(req: Request, out: Output, st: Status, cas: number): void {
  if (st === STORED) return success(req, out, null, cas);
  let status: number;
  if (st === EXISTS) status = RESPONSE_KEY_EEXISTS;
  else if (st === NOT_FOUND) status = RESPONSE_KEY_ENOENT;
  else if (req.cmd === CMD_ADD && req.cas === 0) status = RESPONSE_KEY_EEXISTS;
  else if (req.cmd === CMD_REPLACE && req.cas === 0) status = RESPONSE_KEY_ENOENT;
  else status = RESPONSE_NOT_STORED;
  errorReply(out, req.opcode, status, req.opaque);
}

/** Get, getk, touch, gat, gatk (their quiet forms too), the request checked. */
export function getOrTouch(req: Request, ctx: ServerContext, out: Output, buf: Buffer, es: number, ks: number): void {
  const cache = ctx.cache;
  const cmd = req.cmd;
  const kl = req.keylen;
  const touch = cmd !== CMD_GET && cmd !== CMD_GETK;
  const withKey = cmd === CMD_GETK || cmd === CMD_GATK;
  // memcached's binary GAT is item_touch: it counts as a touch, not a get
  const h = touch ? cache.touch(buf, ks, kl, u32At(buf, es)) : cache.get(buf, ks, kl);
  recordGet(ctx, buf, ks, kl, h !== NIL);
  if (h === NIL) {
    if (req.noreply) return;
    if (withKey) {
      header(out, req.opcode, RESPONSE_KEY_ENOENT, kl, 0, kl, req.opaque, 0);
      out.range(buf, ks, ks + kl);
    } else {
      errorReply(out, req.opcode, RESPONSE_KEY_ENOENT, req.opaque);
    }
    return;
  }
  const vlen = cmd === CMD_TOUCH ? 0 : cache.valueLength(h);
  const klen = withKey ? kl : 0;
  header(out, req.opcode, 0, klen, 4, 4 + klen + vlen, req.opaque, cache.cas(h));
  out.u32(cache.flags(h));
  if (withKey) out.range(buf, ks, ks + kl);
  if (cmd !== CMD_TOUCH) out.value(h);
}

function arith(req: Request, ctx: ServerContext, out: Output, buf: Buffer, es: number, ks: number): void {
  const cache = ctx.cache;
  // 64-bit fields read as halves: a Number below 2^53, a BigInt only above
  const delta = u64FromHalves(buf.readUInt32BE(es), buf.readUInt32BE(es + 4));
  const exptime = buf.readUInt32BE(es + 16);
  const create = exptime !== NO_AUTOCREATE;
  const initial = create ? u64FromHalves(buf.readUInt32BE(es + 8), buf.readUInt32BE(es + 12)) : -1;
  const incr = req.cmd === CMD_INCREMENT;
  const ec = cache.counters;
  const missesBefore = incr ? ec.incr_misses : ec.decr_misses;
  const st = cache.arith(buf, ks, req.keylen, incr, delta, req.arithRes,
    initial, create ? exptime : 0, req.cas);
  if (st === OK) {
    // memcached's binary auto-create is an add, not a miss: only the no-create miss counts
    if ((incr ? ec.incr_misses : ec.decr_misses) !== missesBefore) {
      if (incr) ec.incr_misses--;
      else ec.decr_misses--;
    }
    if (req.noreply) return;
    const h = req.arithRes.item;
    header(out, req.opcode, 0, 0, 0, 8, req.opaque, h === NIL ? 0 : cache.cas(h));
    out.reserve(8);
    req.arithRes.writeU64BE(out.buf, out.len);
    out.len += 8;
    return;
  }
  let status: number;
  if (st === NON_NUMERIC) status = RESPONSE_DELTA_BADVAL;
  else if (st === NOT_FOUND) status = RESPONSE_KEY_ENOENT;
  else if (st === EXISTS) status = RESPONSE_KEY_EEXISTS;
  else if (st === NOT_STORED) status = RESPONSE_NOT_STORED;
  else if (st === NO_MEMORY || st === TOO_LARGE) status = RESPONSE_ENOMEM;
  else status = RESPONSE_ENOMEM;
  errorReply(out, req.opcode, status, req.opaque);
}

/** The groups memcached's binary Stat knows (get_stats; no conns/cachedump here). */
const BINARY_GROUPS = new Set(['items', 'slabs', 'sizes', 'sizes_enable', 'sizes_disable']);
const DETAILED = Buffer.from('detailed');

/** Stat: one packet per (name, value), then an empty one (process_bin_stat). */
function stat(req: Request, ctx: ServerContext, conn: ProtoConn, buf: Buffer, ks: number): void {
  const out = conn.out;
  const sub = buf.toString('latin1', ks, ks + req.keylen);
  let args: string[] | null;
  // memcached matches these by prefix (strncmp with the word's length)
  if (sub.length === 0) args = [];
  else if (sub.startsWith('reset')) args = ['reset'];
  else if (sub.startsWith('settings')) args = ['settings'];
  else if (sub.startsWith('detail')) {
    const rest = sub.slice(6);
    args = rest.startsWith(' dump') ? ['detail', 'dump'] : rest.startsWith(' on') ? ['detail', 'on']
      : rest.startsWith(' off') ? ['detail', 'off'] : null;
  } else args = BINARY_GROUPS.has(sub) ? [sub] : null;
  if (args === null) return errorReply(out, req.opcode, RESPONSE_KEY_ENOENT, req.opaque);
  const r = statsReport(ctx, conn, args);
  if (typeof r === 'string') {
    if (args[0] === 'detail' && args[1] === 'dump') {
      const v = Buffer.from(r, 'latin1');
      header(out, req.opcode, 0, DETAILED.length, 0, DETAILED.length + v.length, req.opaque, 0);
      out.bytes(DETAILED);
      out.bytes(v);
    } else if (args[0] !== 'reset' && args[0] !== 'detail') {
      return errorReply(out, req.opcode, RESPONSE_KEY_ENOENT, req.opaque);
    }
  } else {
    for (const [name, value] of r) {
      const nl = Buffer.byteLength(name, 'latin1');
      const vl = Buffer.byteLength(value, 'latin1');
      header(out, req.opcode, 0, nl, 0, nl + vl, req.opaque, 0);
      out.text(name);
      out.text(value);
    }
  }
  header(out, req.opcode, 0, 0, 0, 0, req.opaque, 0);
}
