// The store's own certificate authority and node certificate, as EventStoreDB's es-gencert-cli
// makes them: a CA (ECDSA P-256, 10 years) and a node certificate it signs for the addresses the
// store answers on (127.0.0.1, ::1, localhost and the configured host), valid for 2 years.
// Made on first start with WebCrypto; kept in the data directory by tls.ts.
import 'reflect-metadata'; // @peculiar/x509 resolves its algorithms through tsyringe, which needs it
import { webcrypto, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

export interface NodeCertificate {
  certPem: string;
  keyPem: string;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
const CA_DAYS = 3_650;
const NODE_DAYS = 730;

/**
 * The names a node certificate must cover: loopback always, plus the host the store listens on;
 * listening on every interface, the machine's name and addresses.
 */
export function nodeNames(host: string): string[] {
  const names = new Set(['127.0.0.1', '::1', 'localhost']);
  if (host !== '0.0.0.0' && host !== '::' && host !== '') names.add(host);
  else {
    names.add(hostname());
    for (const entry of Object.values(networkInterfaces()).flat()) if (entry && !entry.internal && !entry.address.includes('%')) names.add(entry.address);
  }
  return [...names];
}

export async function createCertificateAuthority(): Promise<CertificateAuthority> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=order-store embedded EventStoreDB CA',
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + CA_DAYS * DAY_MS),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

export async function createNodeCertificate(ca: CertificateAuthority, names: readonly string[]): Promise<NodeCertificate> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await webcrypto.subtle.importKey('pkcs8', pemBody(ca.keyPem), ALGORITHM, false, ['sign']);
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=eventstoredb-node',
    issuer: caCert.subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + NODE_DAYS * DAY_MS),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((name) => ({ type: isIP(name) ? ('ip' as const) : ('dns' as const), value: name }))),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

/** Why a kept node certificate cannot be served any more (expired soon, another host, another CA); undefined when it can. */
export function nodeCertificateProblem(certPem: string, caPem: string, names: readonly string[]): string | undefined {
  let cert: NodeX509Certificate;
  try {
    cert = new NodeX509Certificate(certPem);
    if (!cert.verify(new NodeX509Certificate(caPem).publicKey)) return 'it is not signed by the CA';
  } catch (error) {
    return `it cannot be read (${(error as Error).message})`;
  }
  if (Date.parse(cert.validTo) - Date.now() < 30 * DAY_MS) return `it expires on ${cert.validTo}`;
  const covered = new Set((cert.subjectAltName ?? '').split(', ').map((entry) => entry.toLowerCase()));
  const missing = names.filter((name) => !covered.has(isIP(name) ? `ip address:${expandedIp(name)}` : `dns:${name.toLowerCase()}`));
  return missing.length > 0 ? `it does not name ${missing.join(', ')}` : undefined;
}

/** An address as node's subjectAltName writes it: IPv6 as eight groups without leading zeros. */
function expandedIp(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((group) => parseInt(group, 16).toString(16)).join(':');
}

function serial(): string {
  // Positive, 16 random bytes (RFC 5280 allows up to 20 octets).
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END)[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}
