import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { NodeAuth } from './redis-node.js';

const run = promisify(execFile);

/**
 * What secured test servers take: an ACL user of their own (the default user is off), TLS
 * with a certificate for 127.0.0.1 from a CA made for the run, and a password on the sentinels.
 */
export interface RedisSecurity {
  username: string;
  password: string;
  sentinelPassword: string;
  /** The CA that signed the servers' certificate: what NODE_EXTRA_CA_CERTS names. */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The servers' credentials, for the tests' own connections. */
  auth: NodeAuth;
  /** Removes the certificates. */
  remove(): Promise<void>;
}

/** A CA and a server certificate for 127.0.0.1 in a folder of their own (openssl). */
export async function redisSecurity(): Promise<RedisSecurity> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-tls-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  try {
    await openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=session-tests-ca',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    );
    await openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
    );
    await writeFile(
      file('san.cnf'),
      'subjectAltName=IP:127.0.0.1,DNS:localhost\n',
    );
    await openssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      'san.cnf',
      '-out',
      'server.crt',
    );
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(
      `cannot make test certificates (install the Debian package openssl): ${(err as Error).message}`,
      { cause: err },
    );
  }
  const username = 'sessions';
  const password = 'server-S3cret';
  return {
    username,
    password,
    sentinelPassword: 'sentinel-S3cret',
    caFile: file('ca.crt'),
    certFile: file('server.crt'),
    keyFile: file('server.key'),
    auth: { username, password },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** TLS on `tlsPort` (to clients and to other servers), for a server or a sentinel. */
export function tlsArgs(security: RedisSecurity, tlsPort: number): string[] {
  return [
    '--tls-port',
    String(tlsPort),
    '--tls-cert-file',
    security.certFile,
    '--tls-key-file',
    security.keyFile,
    '--tls-ca-cert-file',
    security.caFile,
    '--tls-auth-clients',
    'no',
    '--tls-replication',
    'yes',
  ];
}

/** A Redis server with TLS on `tlsPort`, reached only by the ACL user; replicas log in as it. */
export function securedServerArgs(
  security: RedisSecurity,
  tlsPort: number,
): string[] {
  const { username, password } = security;
  return [
    ...tlsArgs(security, tlsPort),
    '--user',
    'default',
    'off',
    '--user',
    username,
    'on',
    `>${password}`,
    '~*',
    '&*',
    '+@all',
    '--masteruser',
    username,
    '--masterauth',
    password,
  ];
}
