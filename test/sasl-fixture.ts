/** Password files for the SASL and ascii-auth tests, in a temp dir removed at teardown. */
import type { ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AuthFiles {
  dir: string;
  /** `user:password` lines for MEMCACHED_SASL_PWDB and -Y */
  pwdb: string;
  /** a cyrus-sasl config dir for real memcached: `mech_list: plain` */
  saslConf: string;
}

export function authFiles(t: ExecutionContext, lines = 'alice:secret\nbob:hunter2:extra\n'): AuthFiles {
  const dir = mkdtempSync(join(tmpdir(), 'slabcache-sasl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pwdb = join(dir, 'pwdb');
  writeFileSync(pwdb, lines);
  writeFileSync(join(dir, 'memcached.conf'), 'mech_list: plain\n');
  return { dir, pwdb, saslConf: dir };
}
