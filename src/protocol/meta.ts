/** STUB: meta commands; replaced by their owner. Answers ERROR for now. */
import type { ProtoConn, ServerContext } from './context.js';

const ERROR = Buffer.from('ERROR\r\n');

export class MetaCommands {
  constructor(readonly ctx: ServerContext, readonly conn: ProtoConn) {}
  handle(_buf: Buffer, _start: number, _eol: number, next: number, _end: number): number {
    this.conn.out.bytes(ERROR);
    return next;
  }
}
