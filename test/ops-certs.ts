/**
 * Throwaway PKI for TLS tests, made with the `openssl` command: a CA, a server
 * certificate for 127.0.0.1/::1/localhost and a client certificate, both signed
 * by the CA, plus a client certificate from a CA the server does not trust.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** signed by another CA: must be refused when the server checks clients */
  rogueCert: string;
  rogueKey: string;
  cleanup(): void;
}

/** Whether the openssl command runs here. */
export function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function makePki(): TestPki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slabcache-pki-'));
  const f = (n: string): string => path.join(dir, n);
  const ossl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ca = (name: string): void => {
    ossl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.crt`),
      '-subj', `/CN=${name}`, '-days', '2');
  };
  const leaf = (name: string, caName: string, ext: string): void => {
    ossl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${name}`);
    fs.writeFileSync(f(`${name}.ext`), ext);
    ossl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${caName}.crt`), '-CAkey', f(`${caName}.key`),
      '-CAcreateserial', '-out', f(`${name}.crt`), '-days', '2', '-extfile', f(`${name}.ext`));
  };
  ca('test-ca');
  ca('rogue-ca');
  leaf('server', 'test-ca', 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'test-ca', 'extendedKeyUsage=clientAuth\n');
  leaf('rogue', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caCert: f('test-ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    rogueCert: f('rogue.crt'),
    rogueKey: f('rogue.key'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
