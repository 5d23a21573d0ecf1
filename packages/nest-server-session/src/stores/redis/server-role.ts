import type { Redis } from 'ioredis';
import { withDeadline } from '../common/deadline.js';

/** What a server says it is: HELLO (Redis 6+, any ACL user) and ROLE (its replicas). */
interface ServerRole {
  role: 'master' | 'replica' | 'sentinel' | 'unknown';
  /** `standalone`, `sentinel` or `cluster` (HELLO's words); unknown before Redis 6. */
  serverMode?: string;
  replicas: string[];
}

/** What `client`'s server says it is; rejects only when it answers neither question. */
export async function roleOf(client: Redis): Promise<ServerRole> {
  const [hello, role] = await Promise.allSettled([
    client.call('HELLO') as Promise<unknown[]>,
    client.call('ROLE') as Promise<unknown[]>,
  ]);
  if (hello.status === 'rejected' && role.status === 'rejected')
    throw hello.reason;
  const fields = hello.status === 'fulfilled' ? pairs(hello.value) : {};
  const roleReply = role.status === 'fulfilled' ? role.value : [];
  const name = String(fields.role ?? roleReply[0] ?? 'unknown');
  const replicas =
    roleReply[0] === 'master' && Array.isArray(roleReply[2])
      ? (roleReply[2] as unknown[][]).map(([ip, port]) => `${ip}:${port}`)
      : [];
  return {
    role:
      name === 'slave'
        ? 'replica'
        : ((['master', 'replica', 'sentinel'] as const).find(
            (r) => r === name,
          ) ?? 'unknown'),
    serverMode: fields.mode === undefined ? undefined : String(fields.mode),
    replicas,
  };
}

/**
 * Refuses, at start, a single-server URL that leads to a cluster node or a sentinel: most
 * requests would fail (MOVED, unknown command) while it looked connected. Says nothing when
 * the server cannot be asked: it may just be away for now.
 */
export async function assertIsPlainServer(
  client: Redis,
  timeoutMs: number,
): Promise<void> {
  if (client.status !== 'ready') return;
  const role = await withDeadline(roleOf(client), timeoutMs, () =>
    Error('no answer'),
  ).catch(() => undefined);
  if (role?.serverMode === 'cluster' || role?.serverMode === 'sentinel')
    throw new Error(`Redis url: ${misdirected(role.serverMode)}`);
}

/** Why a single-server connection to a cluster node or a sentinel cannot serve sessions. */
export function misdirected(serverMode: string): string {
  return serverMode === 'cluster'
    ? 'leads to a node of a Redis Cluster: set clusterNodes (REDIS_CLUSTER_NODES) to its nodes instead'
    : 'leads to a sentinel: set sentinels and sentinelName (REDIS_SENTINELS, REDIS_SENTINEL_NAME) instead';
}

/** A flat `[key, value, ...]` answer (HELLO in RESP2) as an object. */
function pairs(flat: unknown[]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2)
    object[String(flat[i])] = flat[i + 1];
  return object;
}
