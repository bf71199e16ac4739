/**
 * memcached's watch lines (logger.c _logger_parse_*), written as bytes straight
 * into a buffer: `ts=<sec>.<usec> gid=<n> type=... key=<uri-encoded> ...\n`.
 * The field order, the words and the quirks are memcached 1.6.18's: microseconds
 * printed with %d (no zero padding), keys URI-encoded with upper-case hex, store
 * ttls as unsigned 32-bit numbers.
 */
import { EXISTS, NO_MEMORY, NOT_FOUND, NOT_STORED, STORED, TOO_LARGE } from '../cache/status.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Longest line: a 250-byte key URI-encodes to 750; the rest stays well under 274. */
export const LINE_MAX = 1024;

/** memcached's uriencode_map: unreserved bytes as they are, the rest as %XX. */
const URI_PLAIN = new Uint8Array(256);
for (let x = 0; x < 256; x++) {
  const ch = String.fromCharCode(x);
  URI_PLAIN[x] = /[A-Za-z0-9._~-]/.test(ch) ? 1 : 0;
}
const HEX = b('0123456789ABCDEF');

const TS = b('ts='), GID = b(' gid='), KEY = b(' key='), NL = b('\n');
const T_GET = b(' type=item_get'), T_STORE = b(' type=item_store'), T_EVICT = b(' type=eviction');
const T_CONN_NEW = b(' type=conn_new'), T_CONN_CLOSE = b(' type=conn_close');
const T_SLAB_MOVE = b(' type=slab_move src=');
const STATUS = b(' status='), CLSID = b(' clsid='), CFD = b(' cfd='), SIZE = b(' size=');
const CMD = b(' cmd='), TTL = b(' ttl='), FETCH_YES = b(' fetch=yes'), FETCH_NO = b(' fetch=no');
const LA = b(' la='), RIP = b(' rip='), RPORT = b(' rport='), TRANSPORT = b(' transport=');
const REASON = b(' reason='), DST = b(' dst=');

/** do_item_get's was_found, by value (item-log.ts GET_*). */
const GET_STATUS = ['not_found', 'found', 'flushed', 'expired'].map(b);
/** logger.c's store status_map, indexed by our status.ts values. */
const STORE_STATUS: Buffer[] = [];
STORE_STATUS[STORED] = b('stored');
STORE_STATUS[NOT_STORED] = b('not_stored');
STORE_STATUS[EXISTS] = b('exists');
STORE_STATUS[NOT_FOUND] = b('not_found');
STORE_STATUS[NO_MEMORY] = b('no_memory');
STORE_STATUS[TOO_LARGE] = b('too_large');
/** logger.c's cmd_map, indexed by NREAD_* (memcached's own numbering). */
const STORE_CMD = ['null', 'add', 'set', 'replace', 'append', 'prepend', 'cas'].map(b);
const CMD_NA = b('na');

export type CloseReason = 'error' | 'normal' | 'idle_timeout' | 'shutdown';

/** Writes one line at a time into `buf` from `pos`; the caller checked that LINE_MAX bytes fit. */
export class LineWriter {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;

  private put(s: Buffer): void {
    s.copy(this.buf, this.pos);
    this.pos += s.length;
  }

  private str(s: string): void {
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  /** An integer in decimal, as %d / %u / %lld print it. */
  private int(n: number): void {
    const buf = this.buf;
    if (n < 0) {
      buf[this.pos++] = 0x2d;
      n = -n;
    }
    if (n < 10) {
      buf[this.pos++] = 0x30 + n;
      return;
    }
    let digits = 1;
    for (let t = n; t >= 10; t = Math.floor(t / 10)) digits++;
    let p = this.pos + digits;
    this.pos = p;
    while (digits-- > 0) {
      buf[--p] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    }
  }

  private key(k: Uint8Array, ks: number, kl: number): void {
    const buf = this.buf;
    let p = this.pos;
    for (let i = ks, e = ks + kl; i < e; i++) {
      const c = k[i];
      if (URI_PLAIN[c] === 1) {
        buf[p++] = c;
      } else {
        buf[p++] = 0x25;
        buf[p++] = HEX[c >> 4];
        buf[p++] = HEX[c & 15];
      }
    }
    this.pos = p;
  }

  /** `ts=<sec>.<usec> gid=<gid>`: gettimeofday as memcached prints it. */
  private head(gid: number): void {
    const us = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    this.put(TS);
    this.int(Math.floor(us / 1e6));
    this.buf[this.pos++] = 0x2e;
    this.int(us % 1e6);
    this.put(GID);
    this.int(gid);
  }

  itemGet(gid: number, k: Uint8Array, ks: number, kl: number, wasFound: number, clsid: number, cfd: number,
    nbytes: number): void {
    this.head(gid);
    this.put(T_GET);
    this.put(KEY);
    this.key(k, ks, kl);
    this.put(STATUS);
    this.put(GET_STATUS[wasFound]);
    this.put(CLSID);
    this.int(clsid);
    this.put(CFD);
    this.int(cfd);
    this.put(SIZE);
    this.int(nbytes);
    this.put(NL);
  }

  itemStore(gid: number, k: Uint8Array, ks: number, kl: number, status: number, mode: number, ttl: number,
    clsid: number, cfd: number, nbytes: number): void {
    this.head(gid);
    this.put(T_STORE);
    this.put(KEY);
    this.key(k, ks, kl);
    this.put(STATUS);
    this.put(STORE_STATUS[status]);
    this.put(CMD);
    this.put(mode >= 0 && mode <= 6 ? STORE_CMD[mode] : CMD_NA);
    this.put(TTL);
    this.int(ttl);
    this.put(CLSID);
    this.int(clsid);
    this.put(CFD);
    this.int(cfd);
    this.put(SIZE);
    this.int(nbytes);
    this.put(NL);
  }

  eviction(gid: number, k: Uint8Array, ks: number, kl: number, fetched: boolean, ttl: number, la: number,
    clsid: number, nbytes: number): void {
    this.head(gid);
    this.put(T_EVICT);
    this.put(KEY);
    this.key(k, ks, kl);
    this.put(fetched ? FETCH_YES : FETCH_NO);
    this.put(TTL);
    this.int(ttl);
    this.put(LA);
    this.int(la);
    this.put(CLSID);
    this.int(clsid);
    this.put(SIZE);
    this.int(nbytes);
    this.put(NL);
  }

  /** conn_new, or conn_close when `reason` is given. transport: local | tcp | udp. */
  conn(gid: number, rip: string, rport: number, transport: string, cfd: number, reason: CloseReason | null): void {
    this.head(gid);
    this.put(reason === null ? T_CONN_NEW : T_CONN_CLOSE);
    this.put(RIP);
    this.str(rip);
    this.put(RPORT);
    this.int(rport);
    this.put(TRANSPORT);
    this.str(transport);
    if (reason !== null) {
      this.put(REASON);
      this.str(reason);
    }
    this.put(CFD);
    this.int(cfd);
    this.put(NL);
  }

  slabMove(gid: number, src: number, dst: number): void {
    this.head(gid);
    this.put(T_SLAB_MOVE);
    this.int(src);
    this.put(DST);
    this.int(dst);
    this.put(NL);
  }
}
