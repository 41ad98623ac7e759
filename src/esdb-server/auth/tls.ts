// What a secured store needs to start: its CA and node certificate and the admin password, made
// on first start and kept in the data directory (0600 files in a 0700 directory, see
// file-permissions.ts), read back on later starts. The node certificate is made again, by the same
// CA, when it no longer fits (another host, about to expire), so clients that trust the CA file
// keep trusting the store. A memory store makes fresh ones and keeps only the CA certificate in
// a private temporary folder, for the client's `tlsCAFile`.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, createNodeCertificate, nodeCertificateProblem, nodeNames, type CertificateAuthority } from './certificates.js';
import { writePrivateFile } from './file-permissions.js';

export const CA_CERT_FILE = 'eventstore-ca.crt';
export const CA_KEY_FILE = 'eventstore-ca.key';
export const NODE_CERT_FILE = 'eventstore-node.crt';
export const NODE_KEY_FILE = 'eventstore-node.key';
export const ADMIN_PASSWORD_FILE = 'eventstore-admin-password';

export interface StoreSecrets {
  /** The store's own CA certificate (PEM): what a client trusts (`tlsCAFile`). */
  caPem: string;
  /** Where that CA certificate is kept. */
  caFile: string;
  /** The password of the default `admin` user when the store was first made. */
  adminPassword: string;
  /** Where the admin password is kept; undefined for a memory store (it is only printed). */
  adminPasswordFile: string | undefined;
  /** The node certificate and its key (PEM), what the store serves TLS with. */
  node: { cert: string; key: string };
  /** Removes what a memory store wrote to a temporary folder. */
  dispose(): void;
}

export interface StoreSecretsOptions {
  /** The data directory (already 0700); undefined for a memory store. */
  dataDir: string | undefined;
  /** The host the store listens on: the node certificate names it beside loopback. */
  host: string;
  /** The admin password to use when the data directory has none yet (else a random one). */
  adminPassword?: string | undefined;
}

export async function loadStoreSecrets(options: StoreSecretsOptions): Promise<StoreSecrets> {
  const names = nodeNames(options.host);
  if (!options.dataDir) {
    const ca = await createCertificateAuthority();
    const node = await createNodeCertificate(ca, names);
    const folder = mkdtempSync(join(tmpdir(), 'esdb-memory-ca-'));
    const caFile = join(folder, 'ca.crt');
    writePrivateFile(caFile, ca.certPem);
    return {
      caPem: ca.certPem,
      caFile,
      adminPassword: options.adminPassword ?? newPassword(),
      adminPasswordFile: undefined,
      node: { cert: node.certPem, key: node.keyPem },
      dispose: () => rmSync(folder, { recursive: true, force: true }),
    };
  }

  const dir = options.dataDir;
  const path = (name: string) => join(dir, name);
  let ca: CertificateAuthority | undefined;
  const caCert = readIfThere(path(CA_CERT_FILE));
  const caKey = readIfThere(path(CA_KEY_FILE));
  if (caCert && caKey) ca = { certPem: caCert, keyPem: caKey };
  else {
    ca = await createCertificateAuthority();
    // The key first: a CA certificate on disk always has its key beside it.
    writePrivateFile(path(CA_KEY_FILE), ca.keyPem);
    writePrivateFile(path(CA_CERT_FILE), ca.certPem);
  }
  let nodeCert = readIfThere(path(NODE_CERT_FILE));
  let nodeKey = readIfThere(path(NODE_KEY_FILE));
  if (!nodeCert || !nodeKey || nodeCertificateProblem(nodeCert, ca.certPem, names) !== undefined) {
    const node = await createNodeCertificate(ca, names);
    writePrivateFile(path(NODE_KEY_FILE), node.keyPem);
    writePrivateFile(path(NODE_CERT_FILE), node.certPem);
    nodeCert = node.certPem;
    nodeKey = node.keyPem;
  }
  let adminPassword = readIfThere(path(ADMIN_PASSWORD_FILE))?.trim();
  if (!adminPassword) {
    adminPassword = options.adminPassword ?? newPassword();
    writePrivateFile(path(ADMIN_PASSWORD_FILE), `${adminPassword}\n`);
  }
  return {
    caPem: ca.certPem,
    caFile: path(CA_CERT_FILE),
    adminPassword,
    adminPasswordFile: path(ADMIN_PASSWORD_FILE),
    node: { cert: nodeCert, key: nodeKey },
    dispose: () => undefined,
  };
}

/**
 * The connection string a client uses for a secured store: TLS against the store's CA, as admin.
 * A store on 127.0.0.1 or on every interface is named `localhost` (the node certificate names it):
 * a TLS client given an IP address as server name gets a deprecation warning from node (RFC 6066).
 */
export function securedConnectionString(host: string, port: number, secrets: Pick<StoreSecrets, 'caFile' | 'adminPassword'>, login = 'admin'): string {
  const local = host === '0.0.0.0' || host === '::' || host === 'localhost' || host === '127.0.0.1';
  const connectHost = local ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return `esdb://${encodeURIComponent(login)}:${encodeURIComponent(secrets.adminPassword)}@${connectHost}:${port}?tls=true&tlsCAFile=${encodeURIComponent(secrets.caFile)}`;
}

/** 24 random bytes, URL-safe (so it needs no escaping in a connection string). */
function newPassword(): string {
  return randomBytes(24).toString('base64url');
}

function readIfThere(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The connection string for the secured store kept in `dataDir` (another process may be running
 * it): TLS against its CA file, as `admin` with the kept password. Undefined when the directory
 * holds none (a store never started secured there).
 */
export function keptConnectionString(dataDir: string, host: string, port: number): string | undefined {
  const adminPassword = readIfThere(join(dataDir, ADMIN_PASSWORD_FILE))?.trim();
  const caFile = join(dataDir, CA_CERT_FILE);
  if (!adminPassword || readIfThere(caFile) === undefined) return undefined;
  return securedConnectionString(host, port, { caFile, adminPassword });
}
