/**
 * Text commands for the engine's background work: `lru_crawler ...`,
 * `slabs reassign|automove ...` and `lru tune|mode|temp_ttl ...`, with memcached
 * 1.6.18's exact replies (proto_text.c process_lru_crawler_command,
 * process_slabs_command, process_lru_command).
 *
 * adminCommand() returns null when the words are not one of these commands; else
 * the reply under statsReport()'s contract (see stats/report.ts), plus: an empty string
 * means "send nothing" (noreply, or a metadump handed to conn.stream(), which
 * sends it a slice at a time).
 */
import type { ProtoConn, ServerContext } from './context.js';
import {
  CRAWLER_BADCLASS, CRAWLER_ERROR, CRAWLER_NOTSTARTED, CRAWLER_OK, CRAWLER_RUNNING,
} from '../cache/crawler.js';
import {
  REASSIGN_BADCLASS, REASSIGN_NOSPARE, REASSIGN_OK, REASSIGN_RUNNING, REASSIGN_SRC_DST_SAME,
} from '../cache/page-mover.js';
import { NOT_INT32, strtolStr, strtoulStr } from '../cache/numeric.js';

const CRAWLER_REPLY: Record<number, string> = {
  [CRAWLER_OK]: 'OK',
  [CRAWLER_RUNNING]: 'BUSY currently processing crawler request',
  [CRAWLER_BADCLASS]: 'BADCLASS invalid class id',
  [CRAWLER_NOTSTARTED]: 'NOTSTARTED no items to crawl',
  [CRAWLER_ERROR]: 'ERROR an unknown error happened',
};

const REASSIGN_REPLY: Record<number, string> = {
  [REASSIGN_OK]: 'OK',
  [REASSIGN_RUNNING]: 'BUSY currently processing reassign request',
  [REASSIGN_BADCLASS]: 'BADCLASS invalid src or dst class id',
  [REASSIGN_NOSPARE]: 'NOSPARE source class has no spare pages',
  [REASSIGN_SRC_DST_SAME]: 'SAME src and dst class are identical',
};

/**
 * `words` is the whole command line split on spaces, command word included.
 * `queued`: replies to earlier pipelined requests still wait to be sent (the text
 * protocol knows which of them memcached would already have written out).
 */
export function adminCommand(ctx: ServerContext, conn: ProtoConn, words: string[],
  queued = !conn.out.isEmpty()): string | null {
  if (words[0] === 'lru_crawler') return lruCrawler(ctx, conn, words, queued);
  if (words[0] === 'slabs') return slabsCommand(ctx, words);
  if (words[0] === 'lru') return lruCommand(ctx, words);
  return null;
}

function lruCrawler(ctx: ServerContext, conn: ProtoConn, w: string[], queued: boolean): string {
  const s = ctx.settings;
  if (w.length === 3) {
    switch (w[1]) {
      case 'crawl':
        if (!s.lruCrawler) return 'CLIENT_ERROR lru crawler disabled';
        return CRAWLER_REPLY[ctx.crawler.crawl(w[2])];
      case 'metadump': {
        if (!s.lruCrawler) return 'CLIENT_ERROR lru crawler disabled';
        if (!s.dumpEnabled) return 'ERROR metadump not allowed';
        // memcached hands the socket to its crawler thread, so nothing may be queued before
        if (queued) return 'ERROR cannot pipeline other commands before metadump';
        const r = ctx.crawler.metadump(w[2]);
        if (typeof r === 'number') return CRAWLER_REPLY[r];
        // pulled by the connection as its socket takes it; END comes with the last slice
        if (conn.stream) {
          conn.stream(r);
          return '';
        }
        return r.drain(); // a connection that cannot stream (UDP, tests): all at once
      }
      case 'tocrawl': {
        const n = strtoulStr(w[2]);
        if (n < 0) return 'CLIENT_ERROR bad command line format';
        s.lruCrawlerTocrawl = n;
        return 'OK';
      }
      case 'sleep': {
        const n = strtoulStr(w[2]);
        if (n < 0) return 'CLIENT_ERROR bad command line format';
        if (n > 1000000) return 'CLIENT_ERROR sleep must be one second or less';
        s.lruCrawlerSleep = n;
        return 'OK';
      }
      default:
        return 'ERROR';
    }
  }
  if (w.length === 2) {
    if (w[1] === 'enable') {
      if (s.lruCrawler) return 'ERROR failed to start lru crawler thread';
      s.lruCrawler = true;
      // started without a crawler (-o no_lru_crawler): its automatic schedule starts now
      ctx.crawler.start();
      return 'OK';
    }
    if (w[1] === 'disable') {
      s.lruCrawler = false; // a crawl in progress runs to its end, as memcached's thread does
      return 'OK';
    }
  }
  return 'ERROR';
}

function slabsCommand(ctx: ServerContext, w: string[]): string {
  const s = ctx.settings;
  if (w.length === 4 && w[1] === 'reassign') {
    if (!s.slabReassign) return 'CLIENT_ERROR slab reassignment disabled';
    const src = strtolStr(w[2]);
    const dst = strtolStr(w[3]);
    if (src === NOT_INT32 || dst === NOT_INT32) return 'CLIENT_ERROR bad command line format';
    return REASSIGN_REPLY[ctx.mover.reassign(src, dst)];
  }
  if (w.length >= 3 && w[1] === 'automove') {
    const noreply = w[w.length - 1] === 'noreply';
    let reply = 'OK';
    if (w[2] === 'ratio') {
      const ratio = w.length >= 4 ? strtod(w[3]) : NaN;
      if (Number.isNaN(ratio)) reply = 'ERROR';
      else s.slabAutomoveRatio = ratio;
    } else {
      const level = strtoulStr(w[2]);
      if (level < 0) reply = 'CLIENT_ERROR bad command line format';
      else if (level > 2) reply = 'ERROR';
      else s.slabAutomove = level;
    }
    return noreply ? '' : reply;
  }
  return 'ERROR';
}

/** memcached's safe_strtod on a whole token; NaN if it is not a number. */
function strtod(s: string): number {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) ? Number(s) : NaN;
}

/**
 * `lru tune <hot_pct> <warm_pct> <hot_factor> <warm_factor>`, `lru mode flat|segmented`,
 * `lru temp_ttl <ttl>`. tune changes the engine's HOT/WARM shares and age factors at
 * once, mode switches it between the segmented and the flat LRU; temp_ttl is recorded
 * for `stats settings` only (the engine has no TEMP LRU).
 */
function lruCommand(ctx: ServerContext, w: string[]): string {
  const s = ctx.settings;
  if (w.length < 2) return 'ERROR';
  const noreply = w[w.length - 1] === 'noreply';
  let reply = 'ERROR';
  if (w[1] === 'tune' && w.length >= 6) {
    const hot = strtoulStr(w[2]);
    const warm = strtoulStr(w[3]);
    const hotFactor = strtod(w[4]);
    const warmFactor = strtod(w[5]);
    if (hot < 0 || warm < 0 || Number.isNaN(hotFactor) || Number.isNaN(warmFactor)) reply = 'ERROR';
    // memcached sums two uint32_t: 4294967295 + 20 wraps to 19 and is taken
    else if ((hot + warm) >>> 0 > 80) reply = 'ERROR hot and warm pcts must not exceed 80';
    else if (warmFactor <= 0 || hotFactor <= 0) reply = 'ERROR hot/warm age factors must be greater than 0';
    else {
      s.hotLruPct = hot;
      s.warmLruPct = warm;
      s.hotMaxFactor = hotFactor;
      s.warmMaxFactor = warmFactor;
      // the engine reads its options live when it balances the LRU segments
      ctx.cache.opts.hotLruPct = hot;
      ctx.cache.opts.warmLruPct = warm;
      ctx.cache.opts.hotMaxFactor = hotFactor;
      ctx.cache.opts.warmMaxFactor = warmFactor;
      reply = 'OK';
    }
  } else if (w[1] === 'mode' && w.length >= 3 && s.lruMaintainer) {
    if (w[2] === 'flat' || w[2] === 'segmented') {
      s.lruSegmented = w[2] === 'segmented';
      ctx.cache.opts.lruSegmented = s.lruSegmented;
      reply = 'OK';
    }
  } else if (w[1] === 'temp_ttl' && w.length >= 3 && s.lruMaintainer) {
    const ttl = strtolStr(w[2]);
    if (ttl !== NOT_INT32) {
      s.tempLru = ttl >= 0;
      if (ttl >= 0) s.temporaryTtl = ttl;
      reply = 'OK';
    }
  }
  return noreply ? '' : reply;
}
