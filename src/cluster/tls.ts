// The cluster's control traffic goes over TLS. The manager makes itself a self-signed
// certificate at `swarm init`; the join token carries that certificate's SHA-256 digest (as
// Docker's tokens carry their CA's), so a joining node can check it is talking to the real
// manager before it sends the token's secret, and pins the certificate from then on.
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { run } from '../kernel/exec';

/** The manager answered, with a certificate other than the token names: the token is wrong. */
export class TokenMismatch extends Error {
  constructor() { super('the manager\'s certificate does not match the join token'); }
}

export interface ManagerCert { key: string; cert: string }

/** A new key and self-signed certificate (P-256, ten years) for the manager, kept in `dir`. */
export async function makeManagerCert(dir: string): Promise<ManagerCert> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const keyFile = path.join(dir, 'manager-key.pem'), certFile = path.join(dir, 'manager-cert.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-days', '3650', '-subj', '/CN=berth swarm manager', '-keyout', keyFile, '-out', certFile]);
  await fs.chmod(keyFile, 0o600);
  return { key: await fs.readFile(keyFile, 'utf8'), cert: await fs.readFile(certFile, 'utf8') };
}

export async function loadManagerCert(dir: string): Promise<ManagerCert | null> {
  try {
    return {
      key: await fs.readFile(path.join(dir, 'manager-key.pem'), 'utf8'),
      cert: await fs.readFile(path.join(dir, 'manager-cert.pem'), 'utf8'),
    };
  } catch {
    return null;
  }
}

/** The certificate's SHA-256 digest: 64 lowercase hex digits. */
export function certDigest(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
}

/** The digest a join token names ("SWMTKN-1-<digest>-<secret>"), or null. */
export function tokenDigest(token: string): string | null {
  const m = /^SWMTKN-1-([0-9a-f]{64})-[0-9a-z]+$/.exec(token);
  return m ? m[1] : null;
}

/**
 * The manager's certificate, fetched with a bare TLS handshake (nothing is sent) and accepted
 * only if its digest is the one in the join token.
 */
export function fetchManagerCert(host: string, port: number, digest: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host, port, rejectUnauthorized: false, timeout: 10_000 }, () => {
      const raw = sock.getPeerCertificate(false)?.raw;
      sock.destroy();
      if (!raw) return reject(new Error('the manager sent no certificate'));
      const pem = `-----BEGIN CERTIFICATE-----\n${raw.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
      if (certDigest(pem) !== digest) return reject(new TokenMismatch());
      resolve(pem);
    });
    sock.on('timeout', () => sock.destroy(new Error('the manager did not answer')));
    sock.on('error', reject);
  });
}
