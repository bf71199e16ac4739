// Loaded with `node --import`: prints to stderr every package module the process
// resolves ("module-trace: <url>"), so a test can see whether a dependency was
// ever loaded. The hook runs on the loader thread; it only observes.
import { register } from 'node:module';

register('data:text/javascript,' + encodeURIComponent(`
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.includes('/node_modules/')) process.stderr.write('module-trace: ' + r.url + '\\n');
  return r;
}`));
