// What a server allocates, garbage included: where the young generation's churn
// (and so its scavenges) comes from.
//
//   ALLOC_PROFILE=/tmp/alloc.txt node --import ./test/bench/alloc-profile.mjs bin/slabcache.js ...
//
// Samples allocations with V8's sampling heap profiler, keeping objects that later
// died (the default keeps only live ones), from the start until SIGTERM or
// ALLOC_SECS seconds (default 10), then writes the top allocating frames (self
// bytes, with the frame that called each) to ALLOC_PROFILE. Main thread only.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

const out = process.env.ALLOC_PROFILE;
if (out) {
  const s = new Session();
  s.connect();
  const post = (m, p) => new Promise((res, rej) => s.post(m, p ?? {}, (e, r) => (e ? rej(e) : res(r))));
  await post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  const finish = async () => {
    const { profile } = await post('HeapProfiler.stopSampling');
    const self = new Map();
    let total = 0;
    const walk = (node, parent) => {
      const f = node.callFrame;
      const name = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
      if (node.selfSize > 0) {
        const key = `${name}  <- ${parent}`;
        self.set(key, (self.get(key) ?? 0) + node.selfSize);
        total += node.selfSize;
      }
      for (const c of node.children) walk(c, name);
    };
    walk(profile.head, '');
    const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40);
    writeFileSync(out, `total sampled ${(total / 1e6).toFixed(1)} MB\n` +
      rows.map(([k, v]) => `${(v / 1e6).toFixed(2).padStart(8)} MB ${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`).join('\n') + '\n');
  };
  const secs = Number(process.env.ALLOC_SECS ?? 10);
  setTimeout(() => { void finish(); }, secs * 1000).unref();
}
