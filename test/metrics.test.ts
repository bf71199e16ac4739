/**
 * GET /metrics (-o metrics_port): scraped after known traffic and parsed by a real
 * Prometheus parser (Debian's python3-prometheus-client); names, types and help as
 * memcached_exporter's, values as `stats` says. With metrics off, nothing listens
 * and prom-client is never loaded.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, REPO_ROOT, startSlabcache } from './helpers/memcached.js';
import { RawClient } from './helpers/telnet.js';
import { EXPORTER_METRICS } from './metrics-exporter-names.js';
import { canConnect, waitUntil } from './ops-proc.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const SCRAPE = join(REPO_ROOT, 'test', 'clients', 'prom_scrape.py');
const TRACE = join(REPO_ROOT, 'test', 'helpers', 'module-trace.mjs');
const WAIT_MS = 10_000;

interface Family {
  name: string;
  type: string;
  help: string;
  samples: Array<[string, Record<string, string>, number]>;
}

/** The daemon accepts memcached clients before its metrics endpoint is up: wait for that. */
async function metricsUp(port: number): Promise<void> {
  await waitUntil(`the metrics endpoint on port ${port}`, () => canConnect({ host: '127.0.0.1', port }), WAIT_MS);
}

async function scrape(port: number): Promise<{ contentType: string; families: Family[] }> {
  const r = await run(PYTHON, [SCRAPE, `http://127.0.0.1:${port}/metrics`], { timeout: 60_000 });
  const j = JSON.parse(r.stdout) as { content_type: string; families: Family[] };
  return { contentType: j.content_type, families: j.families };
}

async function stats(c: RawClient, what = ''): Promise<Map<string, string>> {
  await c.send(`stats${what === '' ? '' : ` ${what}`}\r\n`);
  const text = (await c.readUntil('END\r\n', WAIT_MS)).toString('latin1');
  return new Map([...text.matchAll(/^STAT (\S+) (.*)\r$/gm)].map((m) => [m[1], m[2]]));
}

/** The value of the sample `name` whose labels are exactly `labels`. */
function value(fams: Family[], name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of fams) {
    for (const [n, l, v] of f.samples) {
      if (n !== name && n !== `${name}_total`) continue;
      const keys = Object.keys(l);
      if (keys.length === Object.keys(labels).length && keys.every((k) => l[k] === labels[k])) return v;
    }
  }
  return undefined;
}

async function traffic(t: ExecutionContext, port: number): Promise<RawClient> {
  const c = await RawClient.connect(port, '127.0.0.1');
  t.teardown(() => c.close());
  const script = [
    ['set a 0 0 1\r\nx\r\n', 'STORED\r\n'], ['set b 0 0 2\r\nyy\r\n', 'STORED\r\n'],
    ['set big 0 0 3000\r\n' + 'z'.repeat(3000) + '\r\n', 'STORED\r\n'],
    ['get a b c\r\n', 'END\r\n'], ['get a\r\n', 'END\r\n'], ['delete b\r\n', '\r\n'], ['delete nope\r\n', '\r\n'],
    ['incr nope 1\r\n', '\r\n'], ['set n 0 0 1\r\n1\r\n', '\r\n'], ['incr n 2\r\n', '\r\n'], ['decr n 1\r\n', '\r\n'],
    ['touch a 100\r\n', '\r\n'], ['touch nope 1\r\n', '\r\n'], ['cas a 0 0 1 1\r\nq\r\n', '\r\n'],
    ['cas nope 0 0 1 1\r\nq\r\n', '\r\n'],
  ];
  for (const [send, until] of script) {
    await c.send(send);
    await c.readUntil(until, WAIT_MS);
  }
  return c;
}

test('/metrics after known traffic: the exporter\'s names, types and help, and the values stats gives', async (t) => {
  const mport = await freePort();
  const sc = await startSlabcache(t, ['-U', '0', '-o', `metrics_port=${mport}`]);
  await metricsUp(mport);
  const c = await traffic(t, sc.port);
  const general = await stats(c);
  const settings = await stats(c, 'settings');
  const items = await stats(c, 'items');
  const slabs = await stats(c, 'slabs');
  const { contentType, families } = await scrape(mport);

  t.regex(contentType, /^text\/plain; version=0\.0\.4/);
  // every family is the exporter's (same type and help) or our own under slabcache_
  const known = new Map(EXPORTER_METRICS.map(([n, type, help]) => [n, { type, help }]));
  for (const f of families) {
    if (f.name.startsWith('slabcache_')) continue;
    const want = known.get(f.name) ?? known.get(`${f.name}_total`);
    t.truthy(want, `${f.name} is one of the exporter's metrics`);
    if (want === undefined) continue;
    t.is(f.type, want.type, `${f.name} type`);
    t.is(f.help, want.help, `${f.name} help`);
  }
  const names = new Set(families.map((f) => f.name));
  const missing = EXPORTER_METRICS.map(([n]) => n)
    .filter((n) => !names.has(n) && !names.has(n.replace(/_total$/, '')))
    // stats items has number_temp only with -o temporary_ttl
    .filter((n) => n !== 'memcached_slab_temporary_items');
  t.deepEqual(missing, [], 'every exporter metric we have the stat for is there');

  const n = (m: Map<string, string>, k: string): number => Number(m.get(k));
  t.is(value(families, 'memcached_up'), 1);
  for (const op of ['get', 'delete', 'incr', 'decr', 'cas', 'touch']) {
    t.is(value(families, 'memcached_commands_total', { command: op, status: 'hit' }), n(general, `${op}_hits`), `${op} hits`);
    t.is(value(families, 'memcached_commands_total', { command: op, status: 'miss' }), n(general, `${op}_misses`), `${op} misses`);
  }
  t.is(value(families, 'memcached_commands_total', { command: 'cas', status: 'badval' }), n(general, 'cas_badval'));
  t.is(value(families, 'memcached_commands_total', { command: 'set', status: 'hit' }),
    n(general, 'cmd_set') - n(general, 'cas_hits') - n(general, 'cas_misses') - n(general, 'cas_badval'));
  // the traffic above, counted by hand
  t.is(value(families, 'memcached_commands_total', { command: 'get', status: 'hit' }), 3);
  t.is(value(families, 'memcached_commands_total', { command: 'get', status: 'miss' }), 1);
  t.is(value(families, 'memcached_current_items'), n(general, 'curr_items'));
  t.is(value(families, 'memcached_current_items'), 3); // a, big, n
  t.is(value(families, 'memcached_items_total'), n(general, 'total_items'));
  t.is(value(families, 'memcached_current_bytes'), n(general, 'bytes'));
  t.is(value(families, 'memcached_limit_bytes'), n(general, 'limit_maxbytes'));
  t.is(value(families, 'memcached_max_connections'), n(settings, 'maxconns'));
  t.is(value(families, 'memcached_lru_crawler_hot_percent'), n(settings, 'hot_lru_pct'));
  t.is(value(families, 'memcached_version', { version: general.get('version')! }), 1);
  t.is(value(families, 'memcached_malloced_bytes'), n(slabs, 'total_malloced'));
  // per class, as stats items and stats slabs have them
  const classes = [...items.keys()].filter((k) => k.endsWith(':number')).map((k) => k.split(':')[1]);
  t.true(classes.length >= 2, `items in ${classes.length} classes`);
  for (const slab of classes) {
    t.is(value(families, 'memcached_slab_current_items', { slab }), n(items, `items:${slab}:number`), `class ${slab} items`);
    t.is(value(families, 'memcached_slab_cold_items', { slab }), n(items, `items:${slab}:number_cold`));
    t.is(value(families, 'memcached_slab_lru_hits_total', { slab, lru: 'hot' }), n(items, `items:${slab}:hits_to_hot`));
    t.is(value(families, 'memcached_slab_chunk_size_bytes', { slab }), n(slabs, `${slab}:chunk_size`));
    t.is(value(families, 'memcached_slab_chunks_used', { slab }), n(slabs, `${slab}:used_chunks`));
    t.is(value(families, 'memcached_slab_mem_requested_bytes', { slab }), n(items, `items:${slab}:mem_requested`));
    t.is(value(families, 'memcached_slab_commands_total', { slab, command: 'get', status: 'hit' }), n(slabs, `${slab}:get_hits`));
  }
  // ours: the process and Node.js, and what the exporter leaves out
  t.truthy(value(families, 'slabcache_nodejs_eventloop_lag_seconds') !== undefined, 'event-loop lag');
  t.true((value(families, 'slabcache_nodejs_heap_size_used_bytes') ?? 0) > 0, 'heap used');
  t.is(value(families, 'slabcache_cmd_get_total'), n(general, 'cmd_get'));
});

test('/metrics: other paths are 404, other methods 405', async (t) => {
  const mport = await freePort();
  await startSlabcache(t, ['-U', '0', '-o', `metrics_port=${mport}`]);
  await metricsUp(mport);
  t.is((await fetch(`http://127.0.0.1:${mport}/`)).status, 404);
  t.is((await fetch(`http://127.0.0.1:${mport}/metrics`, { method: 'POST' })).status, 405);
  const r = await fetch(`http://127.0.0.1:${mport}/metrics`);
  t.is(r.status, 200);
  t.regex(await r.text(), /^# HELP memcached_up Could the memcached server be reached\.\n# TYPE memcached_up gauge\nmemcached_up 1\n/);
});

/** TCP ports the process `pid` listens on: its socket fds matched against /proc/net/tcp{,6}. */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // the fd closed while we looked
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue; // no IPv6
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is f[1] (hex ip:port), st is f[3] (0A = LISTEN), inode is f[9]
      if (f.length > 9 && f[3] === '0A' && inodes.has(f[9])) ports.push(parseInt(f[1].split(':')[1], 16));
    }
  }
  // with SO_REUSEPORT every worker thread has a listening socket of its own on the port
  return [...new Set(ports)].sort((a, b) => a - b);
}

test('metrics off: nothing more listens and prom-client is never loaded; on: both', async (t) => {
  const env = { NODE_OPTIONS: `--import=${TRACE}` };
  const off = await startSlabcache(t, ['-U', '0'], { env });
  const c = await traffic(t, off.port);
  await stats(c);
  t.deepEqual(listeningPorts(off.pid), [off.port]);
  // the trace works (it saw the packages the daemon does load) and never saw prom-client
  t.regex(off.output(), /module-trace: .*\/node_modules\/yargs-parser\//);
  t.notRegex(off.output(), /prom-client/);

  const mport = await freePort();
  const on = await startSlabcache(t, ['-U', '0', '-o', `metrics_port=${mport}`], { env });
  await metricsUp(mport);
  t.deepEqual(listeningPorts(on.pid), [on.port, mport].sort((a, b) => a - b));
  const loaded = /module-trace: .*\/node_modules\/prom-client\//;
  await waitUntil('the trace of prom-client loading', () => loaded.test(on.output()), WAIT_MS);
  t.regex(on.output(), loaded);
});
