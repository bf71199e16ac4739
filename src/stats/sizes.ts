/**
 * `stats sizes`, `stats sizes_enable`, `stats sizes_disable`: a histogram of item
 * sizes in 32-byte buckets. memcached keeps it up to date on every link and
 * unlink; we compute it when asked by walking the LRUs (no cost on the request
 * path, O(items) per `stats sizes`, which memcached's docs already warn is slow).
 * As in memcached, enabling at runtime counts only items stored afterwards.
 */
import type { ServerContext } from '../server-context.js';
import { casEnabled, forEachItem } from '../cache/inspect.js';
import { Pairs, u } from './util.js';

export function sizesStats(ctx: ServerContext): Pairs {
  const casMin = ctx.stats.sizesCasMin;
  if (casMin < 0) return [['sizes_status', 'disabled']];
  const c = ctx.cache;
  const buckets = Math.floor(ctx.settings.itemSizeMax / 32) + 1;
  const hist = new Map<number, number>();
  forEachItem(c, (h) => {
    if (c.cas(h) < casMin) return;
    const bucket = Math.ceil(c.itemSize(h) / 32);
    if (bucket < buckets) hist.set(bucket, (hist.get(bucket) ?? 0) + 1);
  });
  return [...hist.entries()].sort((a, b) => a[0] - b[0]).map(([b, n]) => [String(b * 32), u(n)]);
}

/**
 * `stats sizes_enable`. memcached answers these two without the END line (its
 * APPEND_STAT has no terminator here), so they are verbatim strings.
 */
export function sizesEnable(ctx: ServerContext): string {
  if (!ctx.settings.useCas || !casEnabled(ctx.cache)) {
    return 'STAT sizes_status error\r\nSTAT sizes_error cas_support_disabled\r\n';
  }
  const st = ctx.stats;
  if (st.sizesCasMin < 0) st.sizesCasMin = ctx.cache.casId + 1;
  return 'STAT sizes_status enabled\r\n';
}

export function sizesDisable(ctx: ServerContext): string {
  ctx.stats.sizesCasMin = -1;
  return 'STAT sizes_status disabled\r\n';
}
