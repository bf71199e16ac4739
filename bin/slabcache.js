#!/usr/bin/env node
// slabcache: the daemon's entry point. Everything lives in dist/ (npm run build).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`slabcache: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
