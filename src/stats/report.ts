/**
 * `stats ...` for every protocol: the text front end formats pairs as
 * `STAT <name> <value>\r\n` + `END\r\n`, the binary one as one Stat response per
 * pair + an empty terminator.
 *
 * Return contract of statsReport() and of adminCommand() (protocol/text-jobs.ts):
 * - Array<[name, value]>: a stats listing, in memcached's order. An empty array is
 *   a listing with nothing in it (text: just `END\r\n`).
 * - string: a reply sent verbatim instead of a listing. If it does not already end
 *   in `\r\n`, the caller appends `\r\n` (so 'RESET' goes out as `RESET\r\n`); a
 *   string that ends in `\r\n` is complete as it is and may span several lines
 *   (`stats detail dump`, `stats cachedump`, `lru_crawler metadump` end in their own
 *   `END\r\n`; `stats sizes_enable` is `STAT ...\r\n` with no END, as memcached
 *   sends it).
 */
import type { ConnInfo, ServerContext } from '../server-context.js';
import { exptimeUnix, forEachColdItem, keyString, MAX_NUMBER_OF_SLAB_CLASSES } from '../cache/inspect.js';
import { generalStats, resetStats } from './general.js';
import { settingsStats } from './settings.js';
import { slabsStats } from './slabs.js';
import { itemsStats } from './items.js';
import { sizesDisable, sizesEnable, sizesStats } from './sizes.js';
import { connsStats } from './conns.js';
import { threadsStats } from './threads.js';
import { strtoulStr } from '../cache/numeric.js';
import { Pairs } from './util.js';

export { recordDelete, recordGet, recordSet } from './detail.js';

/** `args` are the words after `stats` (none for plain `stats`). */
export function statsReport(ctx: ServerContext, _conn: ConnInfo, args: string[]): Pairs | string {
  if (args.length === 0) return generalStats(ctx);
  switch (args[0]) {
    case 'reset':
      resetStats(ctx);
      ctx.stats.prefix.clear();
      return 'RESET';
    case 'detail':
      return detail(ctx, args[1]);
    case 'settings':
      return settingsStats(ctx);
    case 'cachedump':
      return cachedump(ctx, args);
    case 'conns':
      return connsStats(ctx);
    case 'threads':
      return threadsStats(ctx);
    case 'extstore':
      return []; // a memcached built with extstore but not using it answers a bare END
    case 'items':
      return itemsStats(ctx);
    case 'slabs':
      return slabsStats(ctx);
    case 'sizes':
      return sizesStats(ctx);
    case 'sizes_enable':
      return sizesEnable(ctx);
    case 'sizes_disable':
      return sizesDisable(ctx);
    case 'memory':
      return memoryStats(ctx);
    default:
      return 'ERROR';
  }
}

/**
 * `stats memory` (slabcache's own): memory clients hold outside the item counts.
 * upload_bytes: item chunks held by values still arriving; response_bytes and
 * response_chunks: reply buffers held by connections until their client reads;
 * response_pool_bytes: free reply buffers kept for reuse.
 */
function memoryStats(ctx: ServerContext): Pairs {
  const out = ctx.outputMemory?.() ?? { held: 0, chunks: 0, pooled: 0 };
  return [
    ['upload_bytes', String(ctx.cache.uploadBytes)],
    ['response_bytes', String(out.held)],
    ['response_chunks', String(out.chunks)],
    ['response_pool_bytes', String(out.pooled)],
  ];
}

function detail(ctx: ServerContext, what: string | undefined): string {
  if (what === 'on' || what === 'off') {
    ctx.settings.detailEnabled = what === 'on';
    return 'OK';
  }
  if (what === 'dump') return ctx.stats.prefix.dump();
  return 'CLIENT_ERROR usage: stats detail on|off|dump';
}

/** memcached caps a cachedump reply at 2 MB. */
const CACHEDUMP_LIMIT = 2 * 1024 * 1024;

/** `stats cachedump <class> <limit>`: keys of a class's COLD LRU, newest first. */
function cachedump(ctx: ServerContext, args: string[]): string {
  if (!ctx.settings.dumpEnabled) return 'CLIENT_ERROR stats cachedump not allowed';
  if (args.length < 3) return 'CLIENT_ERROR bad command line';
  const id = strtoulStr(args[1]);
  const limit = strtoulStr(args[2]);
  if (id < 0 || limit < 0) return 'CLIENT_ERROR bad command line format';
  if (id >= MAX_NUMBER_OF_SLAB_CLASSES) return 'CLIENT_ERROR Illegal slab id';
  const c = ctx.cache;
  let out = '';
  let shown = 0;
  forEachColdItem(c, id, (h) => {
    if (limit !== 0 && shown >= limit) return false;
    const line = `ITEM ${keyString(c, h)} [${c.valueLength(h)} b; ${exptimeUnix(c, h)} s]\r\n`;
    if (out.length + line.length + 6 > CACHEDUMP_LIMIT) return false;
    out += line;
    shown++;
    return true;
  });
  return out + 'END\r\n';
}
