/**
 * memcached's binary protocol (proto_bin.c), one instance per connection.
 *
 * process() walks the read buffer: a 24-byte header, extras and key must all be
 * here before a request is dispatched (memcached's try_read_command_binary waits
 * the same way); a store's value is then streamed into the allocated item as it
 * arrives (state NREAD), and bytes memcached throws away after an error are
 * swallowed as they arrive (state SWALLOW). Replies are appended to conn.out.
 *
 * Quiet opcodes run as their loud twin with `noreply`: success (and a get miss)
 * says nothing, errors are still sent, as memcached does.
 */
import {
  NREAD_APPEND as NREAD_APPEND_, NREAD_CAS as NREAD_CAS_, NREAD_PREPEND as NREAD_PREPEND_, STORED as STORED_,
} from '../cache/status.js';
import { ArithResult } from '../cache/arith.js';
import { StoreResult, ValueCursor } from '../cache/results.js';
import { recordSet } from '../stats/report.js';
import { READ_BUFFER_SIZE as READ_BUFFER_SIZE_, type Protocol, type ProtoConn, type ServerContext } from './context.js';
import {
  CMD_ADD as CMD_ADD_, CMD_APPEND as CMD_APPEND_, CMD_GET as CMD_GET_, CMD_GETK as CMD_GETK_,
  CMD_PREPEND as CMD_PREPEND_, CMD_REPLACE as CMD_REPLACE_, CMD_SASL_AUTH as CMD_SASL_AUTH_,
  CMD_SASL_STEP as CMD_SASL_STEP_, CMD_SET as CMD_SET_, HEADER_LEN as HEADER_LEN_,
  MAX_SASL_MECH_LEN as MAX_SASL_MECH_LEN_, PROTOCOL_BINARY_REQ as PROTOCOL_BINARY_REQ_,
  QUIET_OF as QUIET_OF_, RESPONSE_E2BIG as RESPONSE_E2BIG_, RESPONSE_ENOMEM as RESPONSE_ENOMEM_,
  RESPONSE_EINVAL as RESPONSE_EINVAL_, RESPONSE_UNKNOWN_COMMAND as RESPONSE_UNKNOWN_COMMAND_,
  RESPONSE_AUTH_ERROR as RESPONSE_AUTH_ERROR_, errorReply, header, readCas, u16At, u32At,
} from './binary-codes.js';
import { dispatch, getOrTouch, storeReply, type Request } from './binary-ops.js';
import {
  SASL_CONTINUE as SASL_CONTINUE_, SASL_MECHS as SASL_MECHS_, SASL_OK as SASL_OK_,
  SASL_AUTHENTICATED as SASL_AUTHENTICATED_, saslExchange,
} from './auth.js';
import {
  RESPONSE_AUTH_CONTINUE as RESPONSE_AUTH_CONTINUE_, CMD_SASL_LIST_MECHS as CMD_SASL_LIST_MECHS_,
  CMD_VERSION as CMD_VERSION_,
} from './binary-codes.js';
import { KEY_MAX_LENGTH as KEY_MAX_LENGTH_, NIL as NIL_ } from '../cache/engine.js';

/**
 * Local copies of imported constants: an imported binding is read through its
 * module cell, with a hole check, at every use even in optimized code, where a
 * module's own unexported const is folded in as a number.
 */
const CMD_ADD = CMD_ADD_;
const CMD_APPEND = CMD_APPEND_;
const CMD_GET = CMD_GET_;
const CMD_GETK = CMD_GETK_;
const CMD_PREPEND = CMD_PREPEND_;
const CMD_REPLACE = CMD_REPLACE_;
const CMD_SASL_AUTH = CMD_SASL_AUTH_;
const CMD_SASL_LIST_MECHS = CMD_SASL_LIST_MECHS_;
const CMD_SASL_STEP = CMD_SASL_STEP_;
const CMD_SET = CMD_SET_;
const CMD_VERSION = CMD_VERSION_;
const HEADER_LEN = HEADER_LEN_;
const KEY_MAX_LENGTH = KEY_MAX_LENGTH_;
const MAX_SASL_MECH_LEN = MAX_SASL_MECH_LEN_;
const NIL = NIL_;
const NREAD_APPEND = NREAD_APPEND_;
const NREAD_CAS = NREAD_CAS_;
const NREAD_PREPEND = NREAD_PREPEND_;
const PROTOCOL_BINARY_REQ = PROTOCOL_BINARY_REQ_;
const QUIET_OF = QUIET_OF_;
const READ_BUFFER_SIZE = READ_BUFFER_SIZE_;
const RESPONSE_AUTH_CONTINUE = RESPONSE_AUTH_CONTINUE_;
const RESPONSE_AUTH_ERROR = RESPONSE_AUTH_ERROR_;
const RESPONSE_E2BIG = RESPONSE_E2BIG_;
const RESPONSE_EINVAL = RESPONSE_EINVAL_;
const RESPONSE_ENOMEM = RESPONSE_ENOMEM_;
const RESPONSE_UNKNOWN_COMMAND = RESPONSE_UNKNOWN_COMMAND_;
const SASL_AUTHENTICATED = SASL_AUTHENTICATED_;
const SASL_CONTINUE = SASL_CONTINUE_;
const SASL_MECHS = SASL_MECHS_;
const SASL_OK = SASL_OK_;
const STORED = STORED_;

const S_HEADER = 0;
const S_NREAD = 1;
const S_SWALLOW = 2;

/** Store modes by loud opcode (memcached maps c->cmd to NREAD_* the same way). */
const MODE_OF: Int8Array = (() => {
  const t = new Int8Array(256);
  t[CMD_SET] = 2; t[CMD_ADD] = 1; t[CMD_REPLACE] = 3; t[CMD_APPEND] = NREAD_APPEND; t[CMD_PREPEND] = NREAD_PREPEND;
  return t;
})();

export class BinaryProtocol implements Protocol, Request {
  private state = S_HEADER;
  /** S_SWALLOW: bytes still to drop; S_NREAD: value bytes still to read */
  private remaining = 0;
  /** S_NREAD: the item being filled and how far */
  private item = NIL;
  private offset = 0;
  private mode = 0;
  /** where the streamed value's last piece ended */
  private readonly cursor = new ValueCursor();
  /** what stores and incr/decr get back from the engine besides a status */
  private readonly stored = new StoreResult();
  readonly arithRes = new ArithResult();
  private saslStarted = false;
  /** end of the bytes at hand for the request being handled */
  private bufEnd = 0;
  /** stopped at -R requests with bytes left: the server calls again next tick */
  yielded = false;
  // the request being handled (Request fields, read by binary-ops)
  opcode = 0;
  cmd = 0;
  noreply = false;
  keylen = 0;
  extlen = 0;
  bodylen = 0;
  opaque = 0;
  cas = 0;

  constructor(readonly ctx: ServerContext, readonly conn: ProtoConn) {}

  process(buf: Buffer, start: number, end: number): number {
    const conn = this.conn;
    const maxReqs = this.ctx.settings.reqsPerEvent;
    let pos = start;
    let reqs = 0;
    this.yielded = false;
    while (!conn.closing) {
      if (this.state === S_SWALLOW) {
        const n = Math.min(end - pos, this.remaining);
        pos += n;
        this.remaining -= n;
        if (this.remaining > 0) break;
        this.state = S_HEADER;
        continue;
      }
      if (this.state === S_NREAD) {
        const n = Math.min(end - pos, this.remaining);
        if (n > 0 && !this.ctx.cache.writeValue(this.item, this.offset, buf, pos, pos + n, this.cursor)) {
          // memcached's conn_nread when a chunk can't be had: answer, drop the rest
          this.ctx.cache.release(this.item);
          this.item = NIL;
          this.ctx.counters.store_no_memory++;
          errorReply(this.conn.out, this.opcode, RESPONSE_ENOMEM, this.opaque);
          this.state = S_HEADER;
          this.swallow(this.remaining - n);
          pos += n;
          continue;
        }
        pos += n;
        this.offset += n;
        this.remaining -= n;
        if (this.remaining > 0) break;
        this.completeStore();
        continue;
      }
      if (end - pos < HEADER_LEN) break;
      if (buf[pos] !== PROTOCOL_BINARY_REQ) {
        // memcached: "Invalid magic", close without a reply
        conn.closeAfterWrite();
        break;
      }
      // -R, or as much output waiting as one client may have: other clients first
      if (reqs >= maxReqs || conn.out.full) {
        this.ctx.counters.conn_yields++;
        this.yielded = true;
        break;
      }
      const keylen = u16At(buf, pos + 2);
      const extlen = buf[pos + 4];
      if (HEADER_LEN + extlen + keylen > READ_BUFFER_SIZE) {
        // memcached waits for header, extras and key in its 16 KiB read buffer; these
        // never fit, so once it is full it closes, unanswered (we keep no more)
        if (end - pos >= READ_BUFFER_SIZE) conn.closeAfterWrite();
        break;
      }
      if (end - pos < HEADER_LEN + extlen + keylen) break;
      const bodylen = u32At(buf, pos + 8);
      const opcode = buf[pos + 1];
      // SASL data is read whole before the exchange (memcached reads it into an item)
      if ((opcode === CMD_SASL_AUTH || opcode === CMD_SASL_STEP) && this.saslBodyWanted(keylen, extlen, bodylen) &&
        end - pos < HEADER_LEN + bodylen) break;
      this.opcode = opcode;
      this.keylen = keylen;
      this.extlen = extlen;
      this.bodylen = bodylen;
      this.opaque = u32At(buf, pos + 12);
      this.cas = readCas(buf, pos + 16);
      this.bufEnd = end;
      pos = this.request(buf, pos, end);
      reqs++;
    }
    return pos - start;
  }

  closed(): void {
    if (this.state === S_NREAD && this.item !== NIL) this.ctx.cache.release(this.item);
    this.item = NIL;
    this.state = S_HEADER;
  }

  /** Drop n more bytes of input (memcached's conn_swallow). */
  swallow(n: number): void {
    // memcached keeps the count in an int: a body length of 2^31 or more comes out
    // negative and nothing is swallowed, so it answers the bytes after the header as
    // the next request. We do the same rather than go silent for up to 4 GB.
    if ((n | 0) > 0) {
      this.state = S_SWALLOW;
      this.remaining = n;
    }
  }

  /** An error reply, then close once written (memcached's close_after_write). */
  fatal(status: number): void {
    errorReply(this.conn.out, this.opcode, status, this.opaque);
    this.conn.closeAfterWrite();
  }

  /** Would this SASL request read its data (rather than fail on its header)? */
  private saslBodyWanted(keylen: number, extlen: number, bodylen: number): boolean {
    const s = this.ctx.settings;
    return s.sasl && extlen === 0 && keylen !== 0 && keylen <= MAX_SASL_MECH_LEN &&
      keylen + extlen <= bodylen && !this.saslTooBig(keylen, bodylen - keylen);
  }

  private saslTooBig(keylen: number, vlen: number): boolean {
    // memcached allocates an item for the data and refuses a chained one
    return this.ctx.cache.itemBytes(keylen, vlen) + 2 > this.ctx.settings.slabChunkMax;
  }

  /** Header, extras and key are in buf at pos. Returns where the next read starts. */
  private request(buf: Buffer, pos: number, end: number): number {
    const { keylen, extlen, bodylen } = this;
    const ks = pos + HEADER_LEN + extlen;
    const next = ks + keylen;
    if (keylen > bodylen || keylen + extlen > bodylen) {
      this.fatal(RESPONSE_UNKNOWN_COMMAND);
      return next;
    }
    const cmd0 = this.opcode;
    if (this.ctx.settings.sasl && !this.conn.authenticated && cmd0 !== CMD_SASL_LIST_MECHS &&
      cmd0 !== CMD_SASL_AUTH && cmd0 !== CMD_SASL_STEP && cmd0 !== CMD_VERSION) {
      this.fatal(RESPONSE_AUTH_ERROR);
      return next;
    }
    if (keylen > KEY_MAX_LENGTH) {
      this.fatal(RESPONSE_EINVAL);
      return next;
    }
    const loud = QUIET_OF[cmd0];
    this.noreply = loud >= 0;
    this.cmd = loud >= 0 ? loud : cmd0;
    const cmd = this.cmd;
    if (MODE_OF[cmd] !== 0) {
      const isAppend = cmd === CMD_APPEND || cmd === CMD_PREPEND;
      const ok = isAppend ? extlen === 0 : extlen === 8 && keylen !== 0 && bodylen >= keylen + 8;
      if (!ok || keylen === 0) {
        this.fatal(RESPONSE_EINVAL);
        return next;
      }
      this.startStore(buf, pos + HEADER_LEN, ks, isAppend);
      return next;
    }
    if (cmd === CMD_SASL_AUTH || cmd === CMD_SASL_STEP) return this.sasl(buf, ks, next, end);
    if (cmd === CMD_SASL_LIST_MECHS) {
      if (extlen !== 0 || keylen !== 0 || bodylen !== 0) this.fatal(RESPONSE_EINVAL);
      else if (!this.ctx.settings.sasl) errorReply(this.conn.out, this.opcode, RESPONSE_UNKNOWN_COMMAND, this.opaque);
      else {
        header(this.conn.out, this.opcode, 0, 0, 0, SASL_MECHS.length, this.opaque, 0);
        this.conn.out.bytes(SASL_MECHS);
      }
      return next;
    }
    // the commonest request goes straight to its handler, a call level short of dispatch()
    if (cmd === CMD_GET || cmd === CMD_GETK) {
      if (extlen !== 0 || bodylen !== keylen || keylen === 0) this.fatal(RESPONSE_EINVAL);
      else getOrTouch(this, this.ctx, this.conn.out, buf, pos + HEADER_LEN, ks);
      return next;
    }
    dispatch(this, this.ctx, this.conn, buf, pos + HEADER_LEN, ks);
    return next;
  }

  /** Set/add/replace/append/prepend: allocate, then stream the value in. */
  private startStore(buf: Buffer, es: number, ks: number, isAppend: boolean): void {
    const cache = this.ctx.cache;
    const { keylen, extlen, bodylen } = this;
    const vlen = bodylen - keylen - extlen;
    const flags = isAppend ? 0 : u32At(buf, es);
    const exptime = isAppend ? 0 : u32At(buf, es + 4);
    recordSet(this.ctx, buf, ks, keylen);
    // only what is here gets memory now: a stalled upload must not hold the rest
    const h = cache.alloc(buf, ks, keylen, flags, exptime, vlen, Math.min(vlen, Math.max(0, this.bufEnd - ks - keylen)));
    if (h === NIL) {
      const tooLarge = !cache.itemSizeOk(keylen, vlen);
      if (tooLarge) this.ctx.counters.store_too_large++;
      else this.ctx.counters.store_no_memory++;
      errorReply(this.conn.out, this.opcode, tooLarge ? RESPONSE_E2BIG : RESPONSE_ENOMEM, this.opaque);
      // a failed set must not leave the old value readable
      if (this.cmd === CMD_SET) cache.drop(buf, ks, keylen);
      this.swallow(vlen);
      return;
    }
    this.mode = MODE_OF[this.cmd];
    if (!isAppend && this.cas !== 0) this.mode = NREAD_CAS;
    this.item = h;
    this.offset = 0;
    this.remaining = vlen;
    this.state = S_NREAD;
  }

  private completeStore(): void {
    const cache = this.ctx.cache;
    const h = this.item;
    this.item = NIL;
    this.state = S_HEADER;
    const st = cache.store(h, this.mode, this.cas, this.stored);
    // the CAS the store gave the linked item (0 with -C)
    storeReply(this, this.conn.out, st, st === STORED ? cache.cas(this.stored.item) : 0);
  }

  /** SASL_AUTH / SASL_STEP: mechanism in the key, client data in the value. */
  private sasl(buf: Buffer, ks: number, next: number, end: number): number {
    const { keylen, extlen, bodylen } = this;
    const out = this.conn.out;
    if (extlen !== 0 || keylen === 0) {
      this.fatal(RESPONSE_EINVAL);
      return next;
    }
    const vlen = bodylen - keylen;
    if (!this.ctx.settings.sasl) {
      errorReply(out, this.opcode, RESPONSE_UNKNOWN_COMMAND, this.opaque);
      this.swallow(vlen);
      return next;
    }
    if (keylen > MAX_SASL_MECH_LEN) {
      errorReply(out, this.opcode, RESPONSE_EINVAL, this.opaque);
      this.swallow(vlen);
      return next;
    }
    if (this.saslTooBig(keylen, vlen)) {
      errorReply(out, this.opcode, RESPONSE_ENOMEM, this.opaque);
      this.swallow(vlen);
      return next;
    }
    // process() made sure the whole body is here
    const stop = next + vlen;
    if (stop > end) throw new Error('binary: SASL body not buffered');
    const step = this.cmd === CMD_SASL_STEP;
    const r = saslExchange(this.ctx, this.conn, step, this.saslStarted,
      buf.subarray(ks, next), buf.subarray(next, stop));
    if (!step) this.saslStarted = r === SASL_OK || r === SASL_CONTINUE;
    if (r === SASL_OK) {
      header(out, this.opcode, 0, 0, 0, SASL_AUTHENTICATED.length, this.opaque, 0);
      out.bytes(SASL_AUTHENTICATED);
    } else if (r === SASL_CONTINUE) {
      header(out, this.opcode, RESPONSE_AUTH_CONTINUE, 0, 0, 0, this.opaque, 0);
    } else {
      errorReply(out, this.opcode, RESPONSE_AUTH_ERROR, this.opaque);
    }
    return stop;
  }
}
