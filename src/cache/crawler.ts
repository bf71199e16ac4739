/**
 * The LRU crawler: walks LRU lists from the tail in small slices and reclaims
 * expired and flushed items nobody asked for again, so their memory comes back
 * without waiting for a get or for eviction pressure (memcached's crawler.c).
 *
 * Like memcached, it runs one sub-crawler per (class, segment) list and takes one
 * item from each active list per round, oldest first. It never blocks the event
 * loop: a slice checks at most CRAWLS_PER_SLICE items, then yields for
 * lru_crawler_sleep microseconds (setImmediate when 0).
 *
 * Between slices the engine may unlink or move the item the crawler would look at
 * next (memcached parks a fake item in the list; we keep a handle and check it is
 * still that list's item before going on, else start that list again from its
 * tail). A restart can visit an item twice; every list is capped at the items it
 * had when the crawl started, so a crawl always ends.
 *
 * `lru_crawler metadump` walks the same lists with the same handle check, a slice
 * each time its connection has room (metadump.ts); it counts as a crawl meanwhile.
 *
 * start() adds memcached's automatic schedule (the LRU maintainer's
 * lru_maintainer_crawler_check): each class is crawled again after a wait that
 * grows while crawls find little to reclaim and shrinks when they find much.
 */
import type { Cache } from './engine.js';
import { NIL } from './memory.js';
import { strtoulStr } from './numeric.js';
import {
  COLD_LRU, HOT_LRU, ITEM_CHUNK, ITEM_FETCHED, ITEM_LINKED, ITEM_SLABBED, W_EXPTIME, W_PREV,
  WARM_LRU,
} from './item-header.js';
import { SEGMENTS } from './lru.js';
import { MetadumpJob } from './metadump.js';
import { MAX_NUMBER_OF_SLAB_CLASSES, POWER_SMALLEST } from './slabs.js';

/** lru_crawler_crawl() results, named as memcached names them. */
export const CRAWLER_OK = 0;
export const CRAWLER_RUNNING = 1;
export const CRAWLER_BADCLASS = 2;
export const CRAWLER_NOTSTARTED = 3;
export const CRAWLER_ERROR = 4;
export type CrawlerResult = 0 | 1 | 2 | 3 | 4;

/** Items checked before the crawler yields (memcached's crawls_persleep). */
export const CRAWLS_PER_SLICE = 1000;
/** Longest wait between automatic crawls of one class (memcached's MAX_MAINTCRAWL_WAIT). */
const MAX_MAINTCRAWL_WAIT = 60 * 60;
/** memcached's lists in crawl order: HOT, WARM, COLD for every class (sid = cls | seg << 6). */
const SEG_ORDER: readonly number[] = [HOT_LRU, WARM_LRU, COLD_LRU];

/** The knobs the crawler reads live (a Settings object fits). */
export interface CrawlerSettings {
  lruCrawler: boolean;
  lruCrawlerSleep: number;    // microseconds
  lruCrawlerTocrawl: number;  // items per list, 0 = all
  lruMaintainer: boolean;
}

/** Per class, what the last automatic crawl saw: memcached's crawlerstats_t. */
class ClassCrawlStats {
  seen = 0;
  noexp = 0;
  reclaimed = 0;
  histo = new Float64Array(61); // items expiring within each of the next 60 minutes
  runComplete = false;
  endTime = 0;
  reset(): void {
    this.seen = this.noexp = this.reclaimed = 0;
    this.histo.fill(0);
    this.runComplete = false;
  }
}

export class LruCrawler {
  /** True while this thread's crawl or dump is in progress. */
  running = false;
  /**
   * 1 while a crawl or dump runs on any thread (a worker's metadump, the main
   * thread's crawls): one word of the shared engine, so BUSY and
   * lru_crawler_running hold across threads. Claimed with a compare-exchange.
   */
  private readonly anyRunning: Int32Array;
  /** Kind of the running crawl: automatic crawls yield to nothing, manual ones get BUSY. */
  private auto = false;
  private readonly nlists: number;
  /** per list id (cls * SEGMENTS + seg): active, next handle, items left to check */
  private readonly active: Uint8Array;
  private readonly cursor: Uint32Array;
  private readonly remaining: Float64Array;
  /** rounds visit lists in memcached's sid order */
  private readonly order: number[] = [];
  private activeLists = 0;
  /** the active lists, in `order` */
  private runOrder: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private schedule: NodeJS.Timeout | null = null;
  private waiters: Array<() => void> = [];
  /** the metadump in progress, if any (it counts as a crawl: `running` is true) */
  private dump: MetadumpJob | null = null;
  private readonly classStats: ClassCrawlStats[] = [];
  private readonly nextCrawl: Float64Array;
  private readonly nextCrawlWait: Float64Array;

  constructor(readonly cache: Cache, readonly settings: CrawlerSettings) {
    this.anyRunning = cache.crawling;
    const classes = cache.slabs.largest + 1;
    this.nlists = classes * SEGMENTS;
    this.active = new Uint8Array(this.nlists);
    this.cursor = new Uint32Array(this.nlists);
    this.remaining = new Float64Array(this.nlists);
    for (const seg of SEG_ORDER) {
      for (let cls = POWER_SMALLEST; cls < classes; cls++) this.order.push(cls * SEGMENTS + seg);
    }
    for (let c = 0; c < classes; c++) this.classStats.push(new ClassCrawlStats());
    this.nextCrawl = new Float64Array(classes);
    this.nextCrawlWait = new Float64Array(classes);
  }

  // ------------------------------------------------------------ lifecycle

  /** Starts the automatic schedule (checked once a second, like memcached's maintainer). */
  start(): void {
    if (this.schedule) return;
    this.schedule = setInterval(() => this.maintainLocked(), 1000);
    this.schedule.unref();
    this.maintainLocked();
  }

  /** Stops the schedule and abandons a crawl or dump in progress. */
  stop(): void {
    if (this.schedule) clearInterval(this.schedule);
    this.schedule = null;
    // the dump's connection sees it end without END; it is being closed anyway
    this.dump?.abort();
    this.dump = null;
    this.cancelSlice();
    this.active.fill(0);
    this.activeLists = 0;
    this.finishCrawl();
  }

  /** A crawl or dump runs on some thread (stats: lru_crawler_running). */
  get busy(): boolean {
    return Atomics.load(this.anyRunning, 0) !== 0;
  }

  /** Takes the one crawl slot every thread shares; false when a crawl or dump holds it. */
  private claim(): boolean {
    return Atomics.compareExchange(this.anyRunning, 0, 0, 1) === 0;
  }

  /** Resolves when no crawl is running (tests, shutdown). */
  idle(): Promise<void> {
    if (!this.running) return Promise.resolve();
    // the slices' timers are unref'd so that a crawl alone never keeps the daemon up;
    // someone waiting for the end must keep the loop alive until it comes
    this.timer?.ref();
    this.immediate?.ref();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  // ------------------------------------------------------------ commands

  /**
   * `lru_crawler crawl <spec>`: spec is "all" or a comma list of class ids. Starts
   * reclaiming expired items of those classes in the background.
   */
  crawl(spec: string, tocrawl = this.settings.lruCrawlerTocrawl): CrawlerResult {
    const ids = parseClassSpec(spec);
    if (ids === 'hash') return CRAWLER_ERROR; // memcached walks the hash table only for dumps
    if (ids === null) return CRAWLER_BADCLASS;
    if (!this.claim()) return CRAWLER_RUNNING;
    this.begin(ids, tocrawl, false);
    return CRAWLER_OK;
  }

  /**
   * `lru_crawler metadump <spec>`: a job that makes one line per live item, in
   * memcached's format, then END, a slice at a time (metadump.ts); the caller
   * pulls the slices. Counts as a crawl while it runs (crawls and other dumps get
   * BUSY, the automatic schedule waits). Returns a result code when it cannot run.
   */
  metadump(spec: string): MetadumpJob | CrawlerResult {
    const ids = parseClassSpec(spec);
    if (ids === null) return CRAWLER_BADCLASS;
    if (!this.claim()) return CRAWLER_RUNNING;
    const all = ids === 'hash' ? allClasses() : ids;
    const lists = this.order.filter((id) => all[Math.floor(id / SEGMENTS)] === 1);
    const job = new MetadumpJob(this.cache, this, lists, () => {
      if (this.dump !== job) return;
      this.dump = null;
      this.finishCrawl();
    });
    this.dump = job;
    this.running = true;
    this.auto = false;
    this.cache.counters.lru_crawler_starts++;
    return job;
  }

  /** The page mover moved a linked item from chunk `from` to `to` (see MetadumpJob.relocated). */
  relocated(from: number, to: number): void {
    this.dump?.relocated(from, to);
  }

  // ------------------------------------------------------------ crawling

  private begin(ids: Uint8Array, tocrawl: number, auto: boolean): void {
    const lru = this.cache.lru;
    for (const id of this.order) {
      const cls = Math.floor(id / SEGMENTS);
      if (!ids[cls]) continue;
      // a crawl ends: each list is capped at what it holds now (or at tocrawl)
      const n = lru.count[id];
      this.remaining[id] = tocrawl > 0 ? Math.min(tocrawl, n) : n;
      this.cursor[id] = lru.tail[id];
      if (this.active[id] === 0) this.activeLists++;
      this.active[id] = 1;
      if (auto) this.classStats[cls].reset();
    }
    this.runOrder = this.order.filter((id) => this.active[id] === 1);
    this.running = true;
    this.auto = auto;
    this.cache.counters.lru_crawler_starts++;
    this.scheduleSlice();
  }

  /**
   * One slice: up to `budget` items, one per active list per round. Returns true
   * if the crawl has more to do. Tests call this directly instead of waiting.
   */
  step(budget = CRAWLS_PER_SLICE): boolean {
    const c = this.cache;
    const hdr = c.hdr;
    const lru = c.lru;
    const cc = c.classCounters;
    const ec = c.counters;
    const now = c.clock.now;
    const run = this.runOrder;
    while (budget > 0 && this.activeLists > 0) {
      // finished lists leave the round, so one long list does not cost a scan of all of them
      let n = 0;
      for (let i = 0; i < run.length; i++) if (this.active[run[i]]) run[n++] = run[i];
      run.length = n;
      for (let oi = 0; oi < run.length && budget > 0; oi++) {
        const id = run[oi];
        if (this.active[id] === 0) continue;
        const cls = Math.floor(id / SEGMENTS);
        let h = this.cursor[id];
        if (h !== NIL && !this.stillIn(h, id)) h = lru.tail[id]; // moved or gone: start over
        if (h === NIL || this.remaining[id] <= 0) {
          this.listDone(id, cls, now);
          continue;
        }
        this.cursor[id] = hdr.get(h, W_PREV);
        this.remaining[id]--;
        budget--;
        if (hdr.refcount(h) !== 0) continue; // in use: memcached skips it too
        cc.crawler_items_checked[cls]++;
        ec.crawler_items_checked++;
        const exp = hdr.get(h, W_EXPTIME);
        const flushed = c.isFlushed(h);
        const s = this.classStats[cls];
        if ((exp !== 0 && exp <= now) || flushed) {
          cc.crawler_reclaimed[cls]++;
          ec.crawler_reclaimed++;
          s.reclaimed++;
          if ((hdr.itFlags(h) & ITEM_FETCHED) === 0 && !flushed) {
            cc.expired_unfetched[cls]++;
            ec.expired_unfetched++;
          }
          c.unlinkHandle(h);
        } else {
          s.seen++;
          if (exp === 0) s.noexp++;
          else if (exp - now <= 3599) s.histo[Math.floor((exp - now) / 60)]++;
        }
      }
    }
    if (this.activeLists > 0) return true;
    if (this.dump === null) this.finishCrawl(); // a dump ends when its job does
    return false;
  }

  /** Runs the current crawl to its end synchronously (tests). */
  finish(): void {
    this.cancelSlice();
    while (this.step()) { /* keep going */ }
  }

  /** Is h still a linked item of list `id`? (the dump keeps its place with this too) */
  stillIn(h: number, id: number): boolean {
    const hdr = this.cache.hdr;
    const fl = hdr.itFlags(h);
    if ((fl & ITEM_LINKED) === 0 || (fl & (ITEM_SLABBED | ITEM_CHUNK)) !== 0) return false;
    return this.cache.slabs.classOf(h) * SEGMENTS + hdr.segment(h) === id;
  }

  private listDone(id: number, cls: number, now: number): void {
    this.active[id] = 0;
    this.activeLists--;
    let open = false;
    for (let seg = 0; seg < SEGMENTS; seg++) if (this.active[cls * SEGMENTS + seg]) open = true;
    if (!open && this.auto) {
      this.classStats[cls].runComplete = true;
      this.classStats[cls].endTime = now;
    }
  }

  private finishCrawl(): void {
    if (this.running) Atomics.store(this.anyRunning, 0, 0);
    this.running = false;
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  private scheduleSlice(): void {
    if (this.timer || this.immediate) return;
    const run = (): void => {
      this.timer = null;
      this.immediate = null;
      // a slice runs from a timer: it holds the engine lock like any request
      if (this.cache.lock.run(() => this.step())) this.scheduleSlice();
    };
    const sleepUs = this.settings.lruCrawlerSleep;
    if (sleepUs <= 0) {
      this.immediate = setImmediate(run);
      if (this.waiters.length === 0) this.immediate.unref();
    } else {
      this.timer = setTimeout(run, Math.max(1, Math.round(sleepUs / 1000)));
      if (this.waiters.length === 0) this.timer.unref();
    }
  }

  private cancelSlice(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }

  /**
   * memcached's lru_maintainer_crawler_check: after a class's automatic crawl,
   * wait longer if it found under 1% reclaimable soon, less if it found more;
   * start a crawl of every class whose wait is over. Public for tests.
   */
  private maintainLocked(): void {
    this.cache.lock.run(() => this.maintain());
  }

  maintain(): void {
    const s = this.settings;
    if (!s.lruCrawler || !s.lruMaintainer || this.busy) return;
    const c = this.cache;
    const now = c.clock.now;
    const todo = new Uint8Array(MAX_NUMBER_OF_SLAB_CLASSES);
    let any = false;
    let limit = 0;
    for (let cls = POWER_SMALLEST; cls <= c.slabs.largest; cls++) {
      const st = this.classStats[cls];
      if (st.runComplete) {
        const possible = st.seen - st.noexp;
        const low = Math.floor(possible / 100) + 1;
        let available = 0;
        for (let x = 0; x < 60; x++) {
          available += st.histo[x];
          if (available > low) {
            if (this.nextCrawlWait[cls] < x * 60) this.nextCrawlWait[cls] += 60;
            else if (this.nextCrawlWait[cls] >= 60) this.nextCrawlWait[cls] -= 60;
            break;
          }
        }
        if (available === 0) this.nextCrawlWait[cls] += 60;
        if (this.nextCrawlWait[cls] > MAX_MAINTCRAWL_WAIT) this.nextCrawlWait[cls] = MAX_MAINTCRAWL_WAIT;
        this.nextCrawl[cls] = st.endTime + this.nextCrawlWait[cls] + 5;
        st.runComplete = false;
      }
      if (now > this.nextCrawl[cls]) {
        todo[cls] = 1;
        any = true;
        limit = Math.max(limit, c.lru.classCount(cls));
        this.nextCrawl[cls] = now + 5; // minimum retry wait
      }
    }
    if (!any) return;
    if (s.lruCrawlerTocrawl > 0 && s.lruCrawlerTocrawl < limit) limit = s.lruCrawlerTocrawl;
    if (!this.claim()) return;
    this.begin(todo, limit, true);
  }
}

/** "all", "hash", or a comma list of class ids (1..63) as a per-class flag array; null if bad. */
export function parseClassSpec(spec: string): Uint8Array | 'hash' | null {
  if (spec === 'all') return allClasses();
  if (spec === 'hash') return 'hash';
  const ids = new Uint8Array(MAX_NUMBER_OF_SLAB_CLASSES);
  // strtok_r semantics: empty pieces between commas are skipped
  const parts = spec.split(',').filter((p) => p.length > 0);
  for (const p of parts) {
    // safe_strtoul into a uint32_t, as memcached reads each id: "+1", " 1" and
    // 4294967297 are all class 1
    const sid = strtoulStr(p);
    if (sid < POWER_SMALLEST || sid >= MAX_NUMBER_OF_SLAB_CLASSES) return null;
    ids[sid] = 1;
  }
  return ids;
}

function allClasses(): Uint8Array {
  return new Uint8Array(MAX_NUMBER_OF_SLAB_CLASSES).fill(1);
}
