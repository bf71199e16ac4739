/**
 * Property: any sequence of meta and classic text commands gets the same replies
 * from slabcache as from real memcached 1.6.18, both real daemons on loopback.
 *
 * CAS values are masked (engines may number them differently); CAS behaviour is
 * checked instead: a `cas` step sends `ms ... C<n>` with the CAS that side last
 * returned for the key (which must store, unless the key changed since), and a
 * `stale` step sends one that side returned earlier (which must not). TTLs and
 * last-access seconds are masked as in the differential tests.
 *
 * Bounded: a fixed number of runs of at most 40 steps, each run on its own keys.
 */
import { test } from './helpers/thread-variants.js';
import fc from 'fast-check';
import { RawClient, visible } from './helpers/telnet.js';
import { startMemcached, startSlabcache } from './helpers/memcached.js';

type Cmd =
  | { kind: 'raw'; text: string }
  | { kind: 'cas'; key: number; stale: boolean; value: string; flags: string; classic: boolean };

const KEYS = 3;
const key = fc.integer({ min: 0, max: KEYS - 1 });
const value = fc.constantFrom('', '0', '7', '18446744073709551615', 'abc', 'a b', 'x\r\ny', '42 ');
const opaque = fc.constantFrom('O1', 'Oabc', 'O');
const ttl = fc.constantFrom('T0', 'T100', 'T-1', 'T3000');

/** A random subset of flags, in random order, without duplicate letters. */
function flagSet(...choices: fc.Arbitrary<string>[]): fc.Arbitrary<string> {
  return fc
    .tuple(...choices.map((c) => fc.option(c, { nil: undefined })))
    .chain((fs) => fc.shuffledSubarray(fs.filter((f): f is string => f !== undefined)))
    .map((fs) => fs.map((f) => ' ' + f).join(''));
}

const mgFlags = flagSet(
  fc.constant('v'), fc.constant('s'), fc.constant('f'), fc.constant('t'), fc.constant('c'),
  fc.constant('k'), fc.constant('h'), fc.constant('q'), opaque, ttl, fc.constantFrom('N30', 'N0'),
  fc.constantFrom('R30', 'R5000'), fc.constant('u'),
);
const msFlags = flagSet(
  fc.constant('c'), fc.constant('k'), fc.constant('q'), opaque, ttl, fc.constantFrom('F0', 'F5', 'F4294967295'),
  fc.constantFrom('ME', 'MA', 'MP', 'MR', 'MS', 'MZ'), fc.constant('I'), fc.constantFrom('C1', 'C0'),
);
const mdFlags = flagSet(fc.constant('q'), fc.constant('k'), opaque, fc.constant('I'), ttl, fc.constantFrom('C1', 'C0'));
const maFlags = flagSet(
  fc.constant('v'), fc.constant('c'), fc.constant('t'), fc.constant('k'), fc.constant('q'), opaque,
  fc.constantFrom('N0', 'N30'), fc.constantFrom('J0', 'J5', 'J18446744073709551615'),
  fc.constantFrom('D1', 'D0', 'D100', 'D18446744073709551615'), fc.constantFrom('MI', 'MD', 'M+', 'M-'), ttl,
);

const command: fc.Arbitrary<Cmd> = fc.oneof(
  fc.tuple(key, mgFlags).map(([k, f]) => ({ kind: 'raw' as const, text: `mg K${k}${f}\r\n` })),
  fc.tuple(key, value, msFlags).map(([k, v, f]) => ({ kind: 'raw' as const, text: `ms K${k} ${v.length}${f}\r\n${v}\r\n` })),
  fc.tuple(key, mdFlags).map(([k, f]) => ({ kind: 'raw' as const, text: `md K${k}${f}\r\n` })),
  fc.tuple(key, maFlags).map(([k, f]) => ({ kind: 'raw' as const, text: `ma K${k}${f}\r\n` })),
  fc.tuple(key, value, fc.boolean(), fc.constantFrom('', ' I', ' q', ' MR', ' MA'), fc.boolean()).map(([k, v, stale, f, classic]) => ({
    kind: 'cas' as const, key: k, stale, value: v, flags: f, classic,
  })),
  // classic commands on the same keys
  fc.tuple(fc.constantFrom('get', 'gets'), key).map(([c, k]) => ({ kind: 'raw' as const, text: `${c} K${k}\r\n` })),
  fc.tuple(fc.constantFrom('set', 'add', 'replace', 'append', 'prepend'), key, value, fc.constantFrom('0', '100', '-1'),
    fc.constantFrom('', ' noreply')).map(([c, k, v, exp, nr]) => ({
    kind: 'raw' as const, text: `${c} K${k} 3 ${exp} ${v.length}${nr}\r\n${v}\r\n`,
  })),
  fc.tuple(fc.constantFrom('incr', 'decr'), key, fc.constantFrom('1', '5', '18446744073709551615')).map(([c, k, d]) => ({
    kind: 'raw' as const, text: `${c} K${k} ${d}\r\n`,
  })),
  key.map((k) => ({ kind: 'raw' as const, text: `delete K${k}\r\n` })),
  fc.tuple(key, fc.constantFrom('0', '100', '-1')).map(([k, e]) => ({ kind: 'raw' as const, text: `touch K${k} ${e}\r\n` })),
  fc.tuple(key, fc.constantFrom('0', '100')).map(([k, e]) => ({ kind: 'raw' as const, text: `gats ${e} K${k}\r\n` })),
  key.map((k) => ({ kind: 'raw' as const, text: `me K${k}\r\n` })),
  fc.constant({ kind: 'raw' as const, text: 'mn\r\n' }),
);

const MASKS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^(VALUE \S+ \d+ \d+) \d+/gm, '$1 <cas>'],
  [/ c\d+/g, ' c<cas>'],
  [/ cas=\d+/g, ' cas=<cas>'],
  [/ t\d+/g, ' t<ttl>'],
  [/ l\d+/g, ' l<la>'],
  [/ la=\d+/g, ' la=<la>'],
  [/ exp=-?\d+/g, ' exp=<exp>'],
  [/ cls=\d+ size=\d+/g, ' cls=<cls> size=<size>'],
];

function mask(s: string): string {
  for (const [re, to] of MASKS) s = s.replace(re, to);
  return s;
}

/** One side: its connection and the CAS values it has handed out per key. */
class Side {
  private readonly seen = new Map<string, number[]>();
  constructor(readonly client: RawClient) {}

  /** Sends a step followed by `mn`, returns the reply without the MN. */
  async step(cmd: Cmd, prefix: string): Promise<string> {
    let text: string;
    if (cmd.kind === 'raw') {
      text = cmd.text.replace(/ K(\d)/, ` ${prefix}$1`);
    } else if (cmd.classic) {
      const k = `${prefix}${cmd.key}`;
      const cas = this.seen.get(k) ?? [];
      const c = cas.length === 0 ? 0 : cmd.stale ? cas[0] : cas[cas.length - 1];
      text = `cas ${k} 0 0 ${cmd.value.length} ${c}\r\n${cmd.value}\r\n`;
    } else {
      const k = `${prefix}${cmd.key}`;
      const cas = this.seen.get(k) ?? [];
      // stale: the oldest CAS this side returned for the key; fresh: the newest
      const c = cas.length === 0 ? 0 : cmd.stale ? cas[0] : cas[cas.length - 1];
      text = `ms ${k} ${cmd.value.length} C${c} c${cmd.flags}\r\n${cmd.value}\r\n`;
    }
    await this.client.send(text + 'mn\r\n');
    // the step's own mn lines answer MN too: wait for all of them plus ours
    const want = (text.match(/^mn(?: [^\n]*)?\r?\n/gm)?.length ?? 0) + 1;
    const got = (await this.client.waitFor((b) => {
      const s = b.toString('latin1');
      return s.endsWith('MN\r\n') && (s.match(/^MN\r\n/gm)?.length ?? 0) >= want ? b.length : -1;
    })).bytes.toString('latin1');
    if (!got.endsWith('MN\r\n')) throw new Error(`no reply to ${visible(text)}: ${visible(got)}`);
    const reply = got.slice(0, -4);
    // remember CAS values returned for this step's key (meta c flag, gets' VALUE line)
    const k = /^(?:m[gsda]|gets|gats \d+) (\S+)/.exec(text)?.[1];
    const m = / c(\d+)/.exec(reply) ?? /^VALUE \S+ \d+ \d+ (\d+)/.exec(reply);
    if (k !== undefined && m !== null && m[1] !== '0') {
      const list = this.seen.get(k) ?? [];
      list.push(Number(m[1]));
      this.seen.set(k, list);
    }
    return `> ${text}< ${reply}`;
  }
}

test('random meta and classic command sequences answer as memcached does', async (t) => {
  const [mc, sc] = await Promise.all([startMemcached(t), startSlabcache(t)]);
  const sides = [new Side(await RawClient.connect(mc.port)), new Side(await RawClient.connect(sc.port))];
  t.teardown(async () => {
    for (const s of sides) await s.client.close();
  });
  let run = 0;
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 40 }), async (cmds) => {
      const prefix = `r${run++}k`;
      const [want, got] = await Promise.all(
        sides.map(async (side) => {
          const lines: string[] = [];
          for (const c of cmds) lines.push(await side.step(c, prefix));
          return lines;
        }),
      );
      for (let i = 0; i < want.length; i++) {
        if (mask(got[i]) !== mask(want[i])) {
          throw new Error(`step ${i + 1} differs\n memcached: ${visible(want[i])}\n slabcache: ${visible(got[i])}\n` +
            `whole run:\n${want.map(visible).join('')}`);
        }
      }
    }),
    { numRuns: 60, seed: Number(process.env.META_SEED ?? 20261125), endOnFailure: false },
  );
  t.log(`${run} runs in ${Date.now() - started} ms`);
  t.true(run >= 60, 'every run was played');
});
