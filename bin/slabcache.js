#!/usr/bin/env node
// slabcache: the daemon's entry point. Everything lives in dist/ (npm run build).
import v8 from 'node:v8';

// Keep V8's young generation at its two initial 1 MiB semi-spaces instead of letting
// them grow to 16 MiB each: the hot path allocates almost nothing that survives, so
// small scavenges stay cheap, and the cache's memory is its -m arenas, not a
// 32 MiB nursery (under a look-aside load: RSS ~20 MB lower, CPU per op unchanged;
// docs/performance.md).
// Set here, before anything allocates much, because the nursery only grows.
v8.setFlagsFromString('--semi-space-growth-factor=1');
// Let TurboFan inline twice V8's default bytecode budget per optimized function (920):
// the request path is many small methods (item header fields, counters, the tokenizer,
// Output), and past the default budget each stays a call. Instructions per request
// (test/bench/instructions.sh a, -t 1): 15.0k -> 14.1k; 3x the budget gains less (14.3k),
// 1.5x little (14.6k). Set before the daemon's code is first optimized.
v8.setFlagsFromString('--max-inlined-bytecode-size-cumulative=1840');

const { main } = await import('../dist/src/cli/main.js');

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`slabcache: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
