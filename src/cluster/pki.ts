// The cluster's certificates, made with @peculiar/x509 (no openssl process): one CA per cluster
// (made at `swarm init`, its key kept in etcd where only managers may read it), and for each
// manager one certificate for its etcd member (server and peer, for its advertised address).
// Join tokens carry the CA's SHA-256 digest, as Docker's do: a joining node fetches the
// certificate chain its first manager presents, accepts it only if the CA in it has that
// digest, and trusts that CA alone from then on, so the token's secret (its etcd password)
// never goes to anyone else.
// @peculiar/x509 2.x resolves its parts with tsyringe, which needs the Reflect metadata polyfill.
import 'reflect-metadata';
import { webcrypto, X509Certificate, randomBytes } from 'node:crypto';
import * as tls from 'node:tls';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const TEN_YEARS = 10 * 365 * 24 * 3600 * 1000;

interface KeyPair { key: string; cert: string }

/** The manager answered with a CA other than the token names: the token is wrong. */
export class TokenMismatch extends Error {
  constructor() { super('the manager\'s certificate does not match the join token'); }
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
}

async function keyPem(k: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', k as any), 'PRIVATE KEY');
}

const serial = () => '01' + randomBytes(15).toString('hex');

/** A new CA: P-256, ten years. */
export async function makeCa(): Promise<KeyPair> {
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(), name: 'CN=berth cluster CA', notBefore: new Date(now - 60_000), notAfter: new Date(now + TEN_YEARS),
    signingAlgorithm: ALG, keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { key: await keyPem(keys.privateKey), cert: cert.toString('pem') + '\n' };
}

/**
 * A certificate signed by the CA for one host: server and client use (etcd's client port, and
 * its peer port, where members are both), valid for `ips` and localhost.
 */
export async function issue(ca: KeyPair, cn: string, ips: string[]): Promise<KeyPair> {
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.key), ALG, false, ['sign']);
  const caCert = new x509.X509Certificate(ca.cert);
  const keys = await newKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(), subject: `CN=${cn}`, issuer: caCert.subject, notBefore: new Date(now - 60_000), notAfter: new Date(now + TEN_YEARS),
    signingAlgorithm: ALG, publicKey: keys.publicKey, signingKey: caKey as unknown as CryptoKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([...new Set([...ips, '127.0.0.1'])].map((ip) => ({ type: 'ip' as const, value: ip }))
        .concat([{ type: 'dns' as any, value: 'localhost' }])),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  // The chain (leaf, then CA) is what the member presents: a joining node finds the CA in it.
  return { key: await keyPem(keys.privateKey), cert: cert.toString('pem') + '\n' + ca.cert };
}

/** The certificate's SHA-256 digest: 64 lowercase hex digits. */
function certDigest(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
}

interface JoinToken { digest: string; secret: string }

/** A join token's parts ("SWMTKN-1-<CA digest>-<secret>"), or null. */
export function parseToken(token: string): JoinToken | null {
  const m = /^SWMTKN-1-([0-9a-f]{64})-([0-9a-z]{25})$/.exec(token);
  return m ? { digest: m[1], secret: m[2] } : null;
}

export const makeToken = (caCert: string, secret: string) => `SWMTKN-1-${certDigest(caCert)}-${secret}`;

/**
 * The cluster's CA, taken from the chain a manager presents in a bare TLS handshake (nothing
 * is sent) and accepted only if its digest is the token's and it signed the manager's own
 * certificate.
 */
export function fetchCa(host: string, port: number, digest: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host, port, rejectUnauthorized: false, timeout: 10_000, ALPNProtocols: ['h2'] }, () => {
      const leaf = sock.getPeerCertificate(true);
      sock.destroy();
      if (!leaf?.raw) return reject(new Error('the manager sent no certificate'));
      const seen = new Set<string>();
      let ca: string | null = null;
      for (let c: any = leaf; c?.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
        seen.add(c.fingerprint256);
        const pem = toPem(c.raw);
        if (certDigest(pem) === digest) { ca = pem; break; }
      }
      if (!ca || !new X509Certificate(toPem(leaf.raw)).verify(new X509Certificate(ca).publicKey)) return reject(new TokenMismatch());
      resolve(ca);
    });
    sock.on('timeout', () => sock.destroy(new Error('the manager did not answer')));
    sock.on('error', reject);
  });
}

function toPem(raw: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${raw.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}
