// Prints what test/bench/turn-trace.mjs wrote: node test/bench/turn-report.mjs PREFIX [N]
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';

const prefix = process.argv[2];
const n = Number(process.argv[3] ?? 12);
const dir = dirname(prefix);
for (const f of readdirSync(dir).filter((f) => f.startsWith(`${basename(prefix)}.`) && f.endsWith('.json')).sort()) {
  const r = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8'));
  if (r.turns === 0) continue;
  console.log(`thread ${r.threadId}: ${r.turns} turns; by CPU ms: ` +
    r.hist.map((c, i) => `${i < r.edges.length ? '<' + r.edges[i] : '>=' + r.edges[r.edges.length - 1]}:${c}`).join(' '));
  for (const [k, a] of Object.entries(r.kinds ?? {})) console.log(`  ${k.padEnd(24)} n ${a.n}, cpu ${a.cpuMs.toFixed(0)} ms, wall ${a.wallMs.toFixed(0)} ms, wrote ${a.writtenB} B, max cpu ${a.maxCpuMs.toFixed(1)} ms`);
  console.log('  longest by CPU (ms cpu / wall, what, bytes written):');
  for (const t of r.byCpu.slice(0, n)) console.log(`    ${t.cpuMs.toFixed(1).padStart(7)} / ${t.wallMs.toFixed(1).padStart(7)}  ${t.what.padEnd(22)} wrote ${t.writtenB}  @${t.at}`);
  console.log('  longest by wall:');
  for (const t of r.byWall.slice(0, Math.min(n, 6))) console.log(`    ${t.cpuMs.toFixed(1).padStart(7)} / ${t.wallMs.toFixed(1).padStart(7)}  ${t.what.padEnd(22)} wrote ${t.writtenB}  @${t.at}`);
  console.log('  GC: ' + Object.entries(r.gcKinds ?? {}).map(([k, g]) => `${k} ${g.n} (${g.ms.toFixed(0)} ms)`).join(', '));
  console.log('  longest GC pauses (ms, kind):');
  console.log('    ' + r.gcs.slice(0, n).map((g) => `${g.ms.toFixed(1)} ${g.kind}`).join(', '));
}
