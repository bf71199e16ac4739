/**
 * The allocation check: the hot path (pipelined text get/set through a real
 * socket) leaves nothing behind per request. Heap used after a full GC must stay
 * flat across 1,000,000 requests; a single retained 16-byte object per request
 * would add ~16 MB, so the bound below catches any per-request leak while leaving
 * room for code and inline caches that settle after warm-up.
 *
 * No timing assertions: speed is the benchmark's business (docs/performance.md).
 */
import net from 'node:net';
import test from 'ava';
import { daemon } from './server-fixture.js';
import { runBatches } from './helpers/batches.js';

const KEYS = 100;
const VALUE_LEN = 100;
/** per key in a batch: one set, then GETS_PER_SET gets (memaslap's 90/10 mix) */
const GETS_PER_SET = 9;
const BATCH_REQS = KEYS * (1 + GETS_PER_SET); // 1000 requests per write
const WARM_BATCHES = 100;
const BATCHES = 1000; // 1,000,000 requests measured
/** what heap used (after GC) may grow by over the measured run */
const HEAP_SLACK = 2 * 1024 * 1024;

const gc = (globalThis as { gc?: () => void }).gc;

function key(i: number): string {
  return `k${String(i).padStart(3, '0')}`;
}

/** One pipelined batch and the exact bytes it is answered with. */
function batch(): { req: Buffer; replyLen: number } {
  const value = 'v'.repeat(VALUE_LEN);
  let req = '';
  let reply = '';
  for (let i = 0; i < KEYS; i++) {
    req += `set ${key(i)} 0 0 ${VALUE_LEN}\r\n${value}\r\n`;
    reply += 'STORED\r\n';
    for (let g = 0; g < GETS_PER_SET; g++) {
      req += `get ${key(i)}\r\n`;
      reply += `VALUE ${key(i)} 0 ${VALUE_LEN}\r\n${value}\r\nEND\r\n`;
    }
  }
  return { req: Buffer.from(req), replyLen: Buffer.byteLength(reply) };
}

function heapAfterGc(): { heap: number; arrayBuffers: number } {
  for (let i = 0; i < 4; i++) gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

test('1,000,000 pipelined text requests leave heap used flat after GC', async (t) => {
  t.truthy(gc, 'run with --expose-gc (package.json ava.nodeArguments)');
  const d = await daemon(t);
  const sock = net.connect(d.ports[0], '127.0.0.1');
  t.teardown(() => sock.destroy());
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  const { req, replyLen } = batch();

  // warm-up: items stored, slab pages cut, code optimized, buffers at their sizes
  await runBatches(sock, req, WARM_BATCHES, () => replyLen);
  const before = heapAfterGc();
  await runBatches(sock, req, BATCHES, () => replyLen);
  const after = heapAfterGc();

  const grew = after.heap - before.heap;
  const grewAb = after.arrayBuffers - before.arrayBuffers;
  t.log(`${BATCHES * BATCH_REQS} requests: heap used ${(before.heap / 1e6).toFixed(2)} -> ${(after.heap / 1e6).toFixed(2)} MB`
    + ` (${grew} bytes, ${(grew / (BATCHES * BATCH_REQS)).toFixed(3)} per request);`
    + ` array buffers ${(before.arrayBuffers / 1e6).toFixed(2)} -> ${(after.arrayBuffers / 1e6).toFixed(2)} MB`);
  t.true(grew < HEAP_SLACK, `heap used grew by ${grew} bytes`);
  t.true(grewAb < HEAP_SLACK, `array buffers grew by ${grewAb} bytes`);
});
