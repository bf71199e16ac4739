/** STUB: the binary protocol; replaced by its owner. */
import type { Protocol, ProtoConn, ServerContext } from './context.js';

export class BinaryProtocol implements Protocol {
  constructor(readonly ctx: ServerContext, readonly conn: ProtoConn) {}
  process(_buf: Buffer, start: number, _end: number): number {
    this.conn.closeAfterWrite();
    return start;
  }
  closed(): void {}
}
