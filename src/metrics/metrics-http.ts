/**
 * `GET /metrics` over HTTP (-o metrics_port, -o metrics_addr) in the Prometheus
 * text format. prom-client writes the format (escaping, HELP/TYPE lines, the
 * content type) and the process and Node.js metrics (CPU, heap, event-loop lag)
 * under `slabcache_`; it is imported only here, and this module is imported only
 * when metrics are on, so a daemon without them neither listens nor loads it.
 *
 * Each scrape reads the counters once (exporter-metrics.ts) into a fresh
 * registry: no per-request work happens on the request path, and a family whose
 * stat is absent (say, rejected connections without maxconns_fast) is absent
 * from the output, as with the exporter.
 */
import http from 'node:http';
import type { ServerContext } from '../server-context.js';
import { collectFamilies } from './exporter-metrics.js';

export interface MetricsServer {
  /** the port listened on (the OS's choice when asked for 0 in tests) */
  readonly port: number;
  close(): Promise<void>;
}

export async function startMetrics(ctx: ServerContext, host: string, port: number): Promise<MetricsServer> {
  const prom = await import('prom-client');
  const own = new prom.Registry();
  prom.collectDefaultMetrics({ register: own, prefix: 'slabcache_' });

  const scrape = async (): Promise<string> => {
    const reg = new prom.Registry();
    // the main thread reads tables that -t N's workers change: under the engine lock
    ctx.cache.lock.enter();
    let families;
    try {
      families = collectFamilies(ctx);
    } finally {
      ctx.cache.lock.exit();
    }
    for (const f of families) {
      if (f.type === 'counter') {
        const c = new prom.Counter({ name: f.name, help: f.help, labelNames: f.labelNames, registers: [reg] });
        for (const smp of f.samples) c.inc(smp.labels, Math.max(0, smp.value));
      } else {
        const g = new prom.Gauge({ name: f.name, help: f.help, labelNames: f.labelNames, registers: [reg] });
        for (const smp of f.samples) g.set(smp.labels, smp.value);
      }
    }
    return prom.Registry.merge([reg, own]).metrics();
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'GET, HEAD' }).end('Method Not Allowed\n');
      return;
    }
    scrape().then((body) => {
      res.writeHead(200, { 'Content-Type': prom.Registry.PROMETHEUS_CONTENT_TYPE });
      res.end(req.method === 'HEAD' ? undefined : body);
    }, (err: Error) => {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${err.message}\n`);
    });
  });
  // a scraper that stops mid-request must not hold a socket forever
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address();
  return {
    port: typeof a === 'object' && a !== null ? a.port : port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
