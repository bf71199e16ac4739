// Which event-loop turns of a server take long, and how much of that is CPU.
//
//   TURN_TRACE=/tmp/turns node --import ./test/bench/turn-trace.mjs bin/slabcache.js ...
//
// Preloaded into the server (and, through execArgv, into its worker threads), it
// times every callback the loop runs (a socket read, a write's completion, a
// setImmediate, a timer) with async_hooks' before/after, in wall clock and in the
// CPU time (see cpu() below), and the bytes it wrote.
// GC pauses come from a PerformanceObserver. A turn of 100 ms wall and 2 ms CPU was
// waiting for a core; one of 100 ms CPU is the server's own work. The hooks cost
// some CPU and garbage of their own per callback: compare GC counts with --trace-gc
// runs, not with traced ones.
//
// Each thread writes TURN_TRACE.<threadId>.json once a second (that turn is not
// counted): the 40 longest turns by CPU and by wall clock, the 40 longest GC
// pauses, and a histogram of turn CPU time. test/bench/turn-report.mjs prints them.
import { createHook } from 'node:async_hooks';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';

const out = process.env.TURN_TRACE;
if (out) {
  // CPU time in ns. getrusage's per-thread figures (process.threadCpuUsage, and the
  // scheduler's schedstat) lag the running thread by up to a tick (4 ms here); the
  // process's total is exact, so TURN_CPU=process (default) is right at -t 1, where
  // the loop's thread does all the work, and TURN_CPU=thread (Node 23.9+) at -t N.
  const cpu = process.env.TURN_CPU === 'thread'
    ? () => { const u = process.threadCpuUsage(); return (u.user + u.system) * 1000; }
    : () => { const u = process.cpuUsage(); return (u.user + u.system) * 1000; };
  const types = new Map(); // asyncId -> [type, resource]
  const TOP = 40;
  const byCpu = [];
  const byWall = [];
  const gcs = [];
  const hist = new Array(12).fill(0); // turns by CPU: <0.1, <0.25, <0.5, <1, <2, <5, <10, <20, <50, <100, <200, more (ms)
  const EDGES = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200];
  let turns = 0;
  const gcKinds = {};
  const kinds = {};
  let depth = 0;
  let t0 = 0, c0 = 0, w0 = 0, what = '';
  let dumping = false;
  const keep = (list, rec, key) => {
    if (list.length < TOP) {
      list.push(rec);
      list.sort((a, b) => b[key] - a[key]);
    } else if (rec[key] > list[TOP - 1][key]) {
      list[TOP - 1] = rec;
      list.sort((a, b) => b[key] - a[key]);
    }
  };
  // bytes written in the turn, counted at the handle's write methods (on its prototype,
  // patched once): what a turn wrote says what it answered
  let wrote = 0;
  let patched = false;
  const patch = (handle) => {
    patched = true;
    const proto = Object.getPrototypeOf(handle);
    for (const m of ['writeBuffer', 'writeLatin1String', 'writeUtf8String', 'writeAsciiString']) {
      const f = proto[m];
      if (typeof f !== 'function') continue;
      proto[m] = function (req, data) { wrote += data.length; return f.apply(this, arguments); };
    }
    const wv = proto.writev;
    if (typeof wv === 'function') {
      proto.writev = function (req, chunks, allBuffers) {
        if (allBuffers) for (const c of chunks) wrote += c.length;
        else for (let i = 0; i < chunks.length; i += 2) wrote += chunks[i].length;
        return wv.apply(this, arguments);
      };
    }
  };
  createHook({
    init(id, type, _trigger, resource) {
      if (!patched && type === 'TCPWRAP') patch(resource);
      if (type === 'TCPWRAP' || type === 'PIPEWRAP' || type === 'Immediate' || type === 'Timeout' ||
        type === 'WRITEWRAP' || type === 'SHUTDOWNWRAP' || type === 'TCPSERVERWRAP' || type === 'MESSAGEPORT') {
        types.set(id, [type, resource]);
      }
    },
    destroy(id) {
      types.delete(id);
    },
    before(id) {
      if (depth++ > 0) return;
      const t = types.get(id);
      what = t === undefined ? 'other' : t[0];
      if (t !== undefined && t[0] === 'Immediate') what += `:${t[1]._onImmediate?.name || 'anon'}`;
      if (t !== undefined && t[0] === 'Timeout') what += `:${t[1]._onTimeout?.name || 'anon'}`;
      w0 = wrote;
      c0 = cpu();
      t0 = performance.now();
    },
    after(id) {
      if (--depth > 0) return;
      if (dumping) { // the dump's own turn
        dumping = false;
        return;
      }
      const wall = performance.now() - t0;
      const c1 = cpu();
      const cms = (c1 - c0) / 1e6;
      turns++;
      let a = kinds[what];
      if (a === undefined) a = kinds[what] = { n: 0, cpuMs: 0, wallMs: 0, writtenB: 0, maxCpuMs: 0 };
      a.n++;
      a.cpuMs += cms;
      a.wallMs += wall;
      if (cms > a.maxCpuMs) a.maxCpuMs = cms;
      a.writtenB += wrote - w0;
      let i = 0;
      while (i < EDGES.length && cms >= EDGES[i]) i++;
      hist[i]++;
      if (cms < 1 && wall < 5) return;
      const rec = {
        at: +(t0 / 1000).toFixed(3), what, cpuMs: +cms.toFixed(2), wallMs: +wall.toFixed(2),
        writtenB: wrote - w0,
      };
      keep(byCpu, rec, 'cpuMs');
      keep(byWall, rec, 'wallMs');
    },
  }).enable();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = { 1: 'scavenge', 2: 'minor-mc', 4: 'mark-compact', 8: 'incremental', 16: 'weakcb' }[e.detail?.kind ?? e.kind] ?? String(e.detail?.kind);
      const k = gcKinds[kind] ?? (gcKinds[kind] = { n: 0, ms: 0 });
      k.n++;
      k.ms += e.duration;
      keep(gcs, { at: +(e.startTime / 1000).toFixed(3), kind, ms: +e.duration.toFixed(2) }, 'ms');
    }
  }).observe({ entryTypes: ['gc'] });
  const dump = () => {
    dumping = true;
    try {
      writeFileSync(`${out}.${threadId}.json`, JSON.stringify({ threadId, turns, kinds, gcKinds, hist, edges: EDGES, byCpu, byWall, gcs }));
    } catch {}
  };
  setInterval(dump, 1000).unref();
  process.on('exit', () => {
    dump();
  });
}
