/** STUB: stats and admin commands; replaced by their owner. */
import type { ProtoConn, ServerContext } from '../protocol/context.js';

export function statsReport(_ctx: ServerContext, _conn: ProtoConn, _args: string[]): Array<[string, string]> | string {
  return [];
}

export function adminCommand(_ctx: ServerContext, _conn: ProtoConn, _words: string[]): string | null {
  return null;
}
