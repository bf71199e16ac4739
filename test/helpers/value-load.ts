/**
 * Concurrent load of self-checking values (helpers/checked-values.ts) over text connections:
 * each client writes its own keys (so each key's versions go out in order) and reads any
 * client's keys with multi-gets, pipelined in rounds. Every reply is judged by the History.
 *
 *   const history = new History(false);
 *   await valueLoad({ clients, history, keysPerClient: 2000, rounds: 40, size: () => 100 });
 *   t.deepEqual(history.problems, []);
 */
import type { History } from './checked-values.js';
import { encodeValue } from './checked-values.js';
import type { Pinned } from './threaded.js';
import type { TextPipe, TextReply } from './text-pipe.js';

export interface ValueLoadOptions {
  clients: ReadonlyArray<Pinned<TextPipe>>;
  history: History;
  keysPerClient: number;
  /** size in bytes of `key` at `version`, written in client round `round` */
  size: (key: string, version: number, round: number) => number;
  /** rounds each client runs at least */
  rounds: number;
  /** after `rounds`, go on until this holds or maxRounds is reached */
  until?: () => boolean;
  maxRounds?: number;
  setsPerRound?: number;
  getsPerRound?: number;
  keysPerGet?: number;
  /** called after each round of any client with the total of rounds done so far */
  onRound?: (roundsDone: number) => void;
}

/** A small seeded generator, so a failing run can be replayed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export const keyOf = (client: number, j: number): string => `v${client}:${j}`;

/** Runs the load; resolves with the rounds each client ran. Protocol failures reject. */
export async function valueLoad(o: ValueLoadOptions): Promise<number[]> {
  const sets = o.setsPerRound ?? 40;
  const gets = o.getsPerRound ?? 10;
  const perGet = o.keysPerGet ?? 8;
  const maxRounds = o.maxRounds ?? o.rounds;
  let roundsDone = 0;
  return Promise.all(
    o.clients.map(async ({ conn }, client) => {
      const rand = mulberry32(0x5eed + client);
      let cursor = 0;
      let round = 0;
      for (; round < maxRounds && (round < o.rounds || (o.until !== undefined && !o.until())); round++) {
        const parts: string[] = [];
        const expect: Array<{ set: string; version: number } | { get: string[] }> = [];
        // gets spread among the sets, so reads run between this client's own writes
        const step = Math.max(1, Math.floor((sets + gets) / Math.max(1, gets)));
        for (let i = 0, g = 0; i < sets + gets; i++) {
          if (g < gets && (i % step === step - 1 || sets + gets - i <= gets - g)) {
            g++;
            const keys = new Set<string>();
            while (keys.size < perGet) keys.add(keyOf(Math.floor(rand() * o.clients.length), Math.floor(rand() * o.keysPerClient)));
            expect.push({ get: [...keys] });
            parts.push(''); // the get's line is written when its floors are taken
          } else {
            const key = keyOf(client, cursor++ % o.keysPerClient);
            const version = o.history.nextVersion(key);
            const value = encodeValue(key, version, o.size(key, version, round));
            parts.push(`set ${key} ${version} 0 ${value.length}\r\n${value}\r\n`);
            expect.push({ set: key, version });
          }
        }
        // floors are taken as late as possible: just before the batch is written
        const tokens = expect.map((e) => ('get' in e ? o.history.beginRead(e.get) : null));
        expect.forEach((e, i) => {
          if ('get' in e) parts[i] = `get ${e.get.join(' ')}\r\n`;
        });
        const replies = await conn.batch(parts.join(''), expect.length);
        expect.forEach((e, i) => judge(o.history, e, tokens[i], replies[i], client));
        o.onRound?.(++roundsDone);
      }
      return round;
    }),
  );
}

function judge(
  history: History,
  e: { set: string; version: number } | { get: string[] },
  token: ReturnType<History['beginRead']> | null,
  reply: TextReply,
  client: number,
): void {
  if ('set' in e) {
    if (reply.kind !== 'line') throw new Error(`client ${client}: set ${e.set} answered VALUE blocks`);
    history.ackWrite(e.set, e.version, reply.line);
    return;
  }
  if (reply.kind !== 'values' || token === null) throw new Error(`client ${client}: get ${e.get.join(' ')} answered "${reply.kind === 'line' ? reply.line : ''}"`);
  // hits come back in the order asked, each key at most once
  let at = 0;
  for (const v of reply.values) {
    const next = e.get.indexOf(v.key, at);
    if (next < 0) {
      history.problem(`client ${client}: get ${e.get.join(' ')} returned ${v.key} out of order or unasked`);
      return;
    }
    for (; at < next; at++) history.checkRead(token, e.get[at], null, null);
    history.checkRead(token, v.key, v.data.toString('latin1'), v.flags);
    at++;
  }
  for (; at < e.get.length; at++) history.checkRead(token, e.get[at], null, null);
}
