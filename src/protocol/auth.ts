/** STUB: SASL / ascii auth; replaced by its owner. */
import type { ProtoConn, ServerContext } from './context.js';

export function textAuthRequired(ctx: ServerContext): boolean {
  return ctx.settings.sasl || ctx.settings.authFile !== null;
}

export function textAuth(_ctx: ServerContext, _conn: ProtoConn, _buf: Buffer, _start: number,
  _eol: number, next: number, _end: number): number {
  return next;
}
