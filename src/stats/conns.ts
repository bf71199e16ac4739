/**
 * `stats conns`: one block per socket, listening ones included, ordered by id
 * (memcached orders by fd): addr, listen_addr (client connections), state,
 * secs_since_last_cmd; UDP sockets get memcached's extra "UDP" line.
 */
import type { ConnRow, ServerContext } from '../server-context.js';
import { Pairs, u } from './util.js';

type Row = ConnRow;

/** memcached's protocol names: tls is tcp underneath; IPv6 peers are tcp6/udp6. */
function proto(transport: string, address: string): string {
  const base = transport === 'tls' ? 'tcp' : transport;
  return (base === 'tcp' || base === 'udp') && address.startsWith('[') ? base + '6' : base;
}

export function connsStats(ctx: ServerContext): Pairs {
  return formatConns(connRows(ctx));
}

/** This thread's listeners and connections, as `stats conns` lists them. */
export function connRows(ctx: ServerContext): Row[] {
  const rows: Row[] = [];
  for (const l of ctx.listeners?.() ?? []) {
    rows.push({
      id: l.id, transport: l.transport, addr: l.addr, listenAddr: null,
      state: l.transport === 'udp' ? 'conn_read' : 'conn_listening', secs: l.secondsSinceLastCmd,
    });
  }
  for (const c of ctx.connections()) {
    if (c.transport === 'unix') {
      // a unix-socket client has no address of its own: memcached prints what it gets from
      // an empty sockaddr, and the socket's path as the listen address
      rows.push({
        id: c.id, transport: c.transport, addr: '?:<AF 0>', listenAddr: `unix:${c.local ?? c.peer}`,
        state: c.state, secs: c.secondsSinceLastCmd,
      });
      continue;
    }
    rows.push({
      id: c.id, transport: c.transport, addr: `${proto(c.transport, c.peer)}:${c.peer}`,
      listenAddr: c.local ? `${proto(c.transport, c.local)}:${c.local}` : null,
      state: c.state, secs: c.secondsSinceLastCmd,
    });
  }
  return rows;
}

/** Rows from every thread, in id order. */
export function formatConns(rows: Row[]): Pairs {
  rows.sort((a, b) => a.id - b.id);
  const out: Pairs = [];
  for (const r of rows) {
    if (r.transport === 'udp') out.push([`${r.id}:UDP`, 'UDP']);
    out.push([`${r.id}:addr`, r.addr]);
    if (r.listenAddr !== null) out.push([`${r.id}:listen_addr`, r.listenAddr]);
    out.push([`${r.id}:state`, r.state]);
    out.push([`${r.id}:secs_since_last_cmd`, u(r.secs)]);
  }
  return out;
}
