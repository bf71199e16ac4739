/**
 * `-Z` TLS listeners through Node's tls, configured by memcached's `-o ssl_*`
 * options, and the `-l` address syntax memcached 1.6 accepts
 * (`notls:ADDR:PORT`, `[v6]:PORT`, bare v6, `*`).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import type tls from 'node:tls';
import type { Settings } from '../config.js';

/**
 * Node's tls, loaded when a TLS server is made. An ES import of node:tls reads every
 * export to build the module namespace, the lazy `rootCertificates` too, which parses
 * Node's bundled CA certificates: about 1.3 MB of RSS in every thread, for a daemon
 * that never verifies a server's certificate and, without -Z, makes no TLS at all.
 */
function tlsModule(): typeof tls {
  return createRequire(import.meta.url)('node:tls') as typeof tls;
}

/** One `-l` entry. host null: every address (`*`). */
export interface ListenAddress {
  host: string | null;
  port: number;
  /** false for `notls:` entries, true for the rest when -Z is on */
  tls: boolean;
}

/**
 * Parses one -l entry as memcached's server_sockets() does. Throws with
 * memcached's wording on bad input.
 */
export function parseListenAddress(spec: string, defaultPort: number, sslEnabled: boolean): ListenAddress {
  let p = spec;
  let useTls = sslEnabled;
  if (p.startsWith('notls')) {
    if (!sslEnabled) throw new Error("'notls' option is valid only when SSL is enabled");
    useTls = false;
    p = p.slice(6); // "notls:" prefix
  }
  let host: string | null = null;
  let bracketed = false;
  if (p.startsWith('[')) {
    const e = p.indexOf(']');
    if (e < 0) throw new Error(`Invalid IPV6 address: "${p}"`);
    host = p.slice(1, e);
    p = p.slice(e + 1);
    bracketed = true;
  }
  let port = defaultPort;
  const colon = p.indexOf(':');
  // one colon: host:port; several and not bracketed: a bare IPv6 address
  if (colon >= 0 && (bracketed || p.indexOf(':', colon + 1) < 0)) {
    const ps = p.slice(colon + 1);
    if (!/^[0-9]+$/.test(ps) || Number(ps) > 65535) throw new Error(`Invalid port number: "${ps}"`);
    port = Number(ps);
    p = p.slice(0, colon);
  }
  if (!bracketed) host = p;
  if (host === '*' || host === '') host = null;
  return { host, port, tls: useTls };
}

/** All -l entries (each may be a comma or semicolon list). */
export function listenAddresses(settings: Settings, port: number): ListenAddress[] {
  const out: ListenAddress[] = [];
  for (const entry of settings.interfaces) {
    for (const spec of entry.split(/[;,]/)) {
      if (spec !== '') out.push(parseListenAddress(spec, port, settings.ssl));
    }
  }
  return out;
}

// memcached's ssl_min_version: 0 TLSv1, 1 TLSv1.1, 2 TLSv1.2, 3 TLSv1.3
const MIN_VERSIONS: readonly tls.SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/**
 * tls.createServer options from settings. ssl_verify_mode maps OpenSSL's modes
 * as memcached passes them: 0 none; 1 request a client certificate and check it
 * if one is sent; 2 require one; 3 require one, checked once per session (Node
 * checks at each full handshake, which is the same thing without renegotiation).
 * Reads the files now, so a bad path fails at startup with its name.
 */
export function tlsServerOptions(settings: Settings): tls.TlsOptions {
  if (!settings.ssl_chain_cert || !settings.ssl_key) {
    throw new Error('Error: -Z needs -o ssl_chain_cert=FILE,ssl_key=FILE');
  }
  const read = (what: string, file: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new Error(`Error loading the ${what} "${file}": ${(e as Error).message}`);
    }
  };
  const mode = settings.ssl_verify_mode;
  if (mode < 0 || mode > 3) throw new Error(`Invalid ssl_verify_mode: ${mode} (0..3)`);
  const opts: tls.TlsOptions = {
    cert: read('certificate', settings.ssl_chain_cert),
    key: read('private key', settings.ssl_key),
    requestCert: mode >= 1,
    // mode 1 lets a client without a certificate in; onSecure() rejects bad ones
    rejectUnauthorized: mode >= 2,
    minVersion: MIN_VERSIONS[Math.max(0, Math.min(3, settings.ssl_min_version))],
  };
  if (settings.ssl_ca_cert) opts.ca = read('CA certificate', settings.ssl_ca_cert);
  if (settings.ssl_ciphers) opts.ciphers = settings.ssl_ciphers;
  if (!settings.ssl_session_cache) opts.sessionTimeout = 0;
  return opts;
}

export interface TlsListenOptions {
  host: string | null;
  port: number;
  backlog: number;
  settings: Settings;
  /** SO_REUSEPORT: each worker thread binds a socket of its own on the port */
  reusePort?: boolean;
  /** the decrypted stream; a TLSSocket is a net.Socket to the connection code */
  onConnection: (socket: tls.TLSSocket) => void;
}

/** A TLS listener on host:port, resolved once listening. */
export async function listenTls(opts: TlsListenOptions): Promise<tls.Server> {
  const server = tlsServer(opts.settings, opts.onConnection);
  await listenOn(server, opts.host, opts.port, opts.backlog, opts.reusePort);
  return server;
}

/**
 * A TLS server, not yet listening: each worker thread makes its own (a TLS context
 * is per thread) over the one listening socket.
 */
export function tlsServer(settings: Settings, onConnection: (socket: tls.TLSSocket) => void): tls.Server {
  const mode = settings.ssl_verify_mode;
  const server = tlsModule().createServer(tlsServerOptions(settings), (socket) => {
    // mode 1: a certificate that was sent must verify; none at all is fine
    if (mode === 1 && !socket.authorized && socket.getPeerCertificate()?.raw) {
      socket.destroy();
      return;
    }
    onConnection(socket);
  });
  // a failed handshake (plain client, bad certificate) only drops that client
  server.on('tlsClientError', (_err, socket) => socket.destroy());
  return server;
}

/**
 * server.listen(host, port) as a promise; host null listens on every address.
 * reusePort: SO_REUSEPORT (Node >= 22.12 on Linux; older Nodes ignore it).
 */
export function listenOn(server: net.Server, host: string | null, port: number, backlog: number, reusePort = false): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    const done = (): void => {
      server.off('error', onError);
      resolve();
    };
    if (host === null) server.listen({ port, backlog, reusePort }, done);
    else server.listen({ host, port, backlog, ipv6Only: net.isIPv6(host), reusePort }, done);
  });
}
