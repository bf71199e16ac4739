/**
 * The first byte of a connection picks its protocol, as memcached's
 * conn_new_cmd/try_read_command does: 0x80 (PROTOCOL_BINARY_REQ) is binary,
 * anything else text (classic and meta). `-B ascii` / `-B binary` force one.
 */
import { BinaryProtocol } from './binary.js';
import type { Protocol, ProtoConn, ServerContext } from './context.js';
import { TextProtocol } from './text.js';

export const PROTOCOL_BINARY_REQ = 0x80;

export function detectProtocol(ctx: ServerContext, conn: ProtoConn, firstByte: number): Protocol {
  const p = ctx.settings.protocol;
  if (p === 'binary' || (p === 'auto' && firstByte === PROTOCOL_BINARY_REQ)) {
    return new BinaryProtocol(ctx, conn);
  }
  return new TextProtocol(ctx, conn);
}
