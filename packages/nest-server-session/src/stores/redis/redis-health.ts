import type { Cluster, Redis } from 'ioredis';
import { withDeadline } from '../common/deadline.js';
import { connectedTo } from './sentinel-switch.js';
import type { StoreHealth, StoreNodeHealth } from '../store.contract.js';
import { isCluster, type RedisClient, type RedisMode } from './redis-mode.js';

/** Every slot of a Redis Cluster. */
const CLUSTER_SLOTS = 16384;

/**
 * Share of the store deadline the servers get to answer, so that the report, with what is
 * known of them, is ready before the caller's deadline cuts it off.
 */
const ANSWER_WITHIN = 0.8;

/**
 * The store's servers as a health check should report them: ok only when sessions can be
 * read and written, which a replica, a sentinel or a cluster missing a slot cannot. Never
 * rejects: servers that do not answer in time are reported down.
 */
export async function redisHealth(
  client: RedisClient,
  mode: RedisMode,
  timeoutMs: number,
): Promise<StoreHealth> {
  const ms = Math.floor(timeoutMs * ANSWER_WITHIN);
  const report = isCluster(client)
    ? clusterHealth(client)
    : serverHealth(client, mode);
  return withDeadline(report, ms, () =>
    Error(`no answer within ${ms} ms`),
  ).catch((err: unknown): StoreHealth => ({
    ok: false,
    mode,
    nodes: isCluster(client)
      ? client.nodes('master').map((node) => down(nodeAddress(node)))
      : [down(connectedAddress(client))],
    problem: messageOf(err),
  }));
}

const down = (address: string): StoreNodeHealth => ({
  address,
  role: 'unknown',
  up: false,
});

/** What a server says it is: HELLO (Redis 6+, any ACL user) and ROLE (its replicas). */
interface ServerRole {
  role: 'master' | 'replica' | 'sentinel' | 'unknown';
  /** `standalone`, `sentinel` or `cluster` (HELLO's words); unknown before Redis 6. */
  serverMode?: string;
  replicas: string[];
}

async function roleOf(client: Redis): Promise<ServerRole> {
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

/** One server, or the master the sentinels named. */
async function serverHealth(
  client: Redis,
  mode: RedisMode,
): Promise<StoreHealth> {
  const address = connectedAddress(client);
  if (client.status !== 'ready')
    return {
      ok: false,
      mode,
      nodes: [down(address)],
      problem: `not connected (${client.status})`,
    };
  const { role, serverMode, replicas } = await roleOf(client);
  const problem =
    serverMode === 'cluster' || serverMode === 'sentinel'
      ? misdirected(serverMode)
      : role === 'master' || role === 'unknown'
        ? undefined
        : `connected to a ${role}, which cannot take writes`;
  return {
    ok: problem === undefined,
    mode,
    nodes: [
      { address, role, up: true },
      ...replicas.map((replica) => ({
        address: replica,
        role: 'replica' as const,
        up: true,
      })),
    ],
    ...(problem && { problem }),
  };
}

/**
 * A cluster is healthy when the node asked says `cluster_state:ok` with every slot served,
 * none of its masters is failing, and every master the client routes to answers.
 */
async function clusterHealth(cluster: Cluster): Promise<StoreHealth> {
  const masters = cluster.nodes('master');
  const pings = await Promise.allSettled(masters.map((node) => node.ping()));
  const reachable = masters.filter((_, i) => pings[i].status === 'fulfilled');
  if (reachable.length === 0)
    return {
      ok: false,
      mode: 'cluster',
      nodes: masters.map((node) => ({
        ...down(nodeAddress(node)),
        role: 'master' as const,
      })),
      problem: 'no master answers',
    };
  const viewer = reachable[0];
  const [info, listing] = await Promise.all([
    viewer.cluster('INFO') as Promise<string>,
    viewer.cluster('NODES') as Promise<string>,
  ]);
  const state = fieldsOf(info);
  const nodes = clusterNodes(listing);
  const unanswered = masters.length - reachable.length;
  // A failed master whose slots went to its replica no longer matters to the sessions.
  const failing = nodes.filter((n) => n.servesSlots && !n.up).length;
  const problem =
    state.cluster_state !== 'ok'
      ? `cluster_state:${state.cluster_state}`
      : Number(state.cluster_slots_ok) !== CLUSTER_SLOTS
        ? `only ${state.cluster_slots_ok} of ${CLUSTER_SLOTS} slots served`
        : unanswered > 0
          ? `${unanswered} master(s) do not answer`
          : failing > 0
            ? `${failing} master(s) failing`
            : undefined;
  return {
    ok: problem === undefined,
    mode: 'cluster',
    nodes: nodes.map(({ address, role, up }) => ({ address, role, up })),
    ...(problem && { problem }),
  };
}

/** A node of a CLUSTER NODES answer, and whether it serves slots (a master that holds some). */
interface ClusterNode extends StoreNodeHealth {
  servesSlots: boolean;
}

/** The nodes of a CLUSTER NODES answer, handshakes and address-less ones left out. */
function clusterNodes(listing: string): ClusterNode[] {
  return listing
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.split(' '))
    .filter(([, , flags]) => !/handshake|noaddr/.test(flags))
    .map(([, endpoint, flags, , , , , link, ...slots]) => {
      const flagList = flags.split(',');
      return {
        address: endpoint.split('@')[0],
        role: flagList.includes('master')
          ? ('master' as const)
          : flagList.includes('slave')
            ? ('replica' as const)
            : ('unknown' as const),
        up:
          link === 'connected' &&
          !flagList.includes('fail') &&
          !flagList.includes('fail?'),
        servesSlots: slots.some((range) => /^\d/.test(range)),
      };
    })
    .toSorted((a, b) => a.address.localeCompare(b.address));
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

function misdirected(serverMode: string): string {
  return serverMode === 'cluster'
    ? 'leads to a node of a Redis Cluster: set clusterNodes (REDIS_CLUSTER_NODES) to its nodes instead'
    : 'leads to a sentinel: set sentinels and sentinelName (REDIS_SENTINELS, REDIS_SENTINEL_NAME) instead';
}

/** Where the client is connected now (a Sentinel-named master), else where it was told to go. */
function connectedAddress(client: Redis): string {
  return connectedTo(client) ?? nodeAddress(client);
}

function nodeAddress(node: Redis): string {
  return `${node.options.host ?? ''}:${node.options.port ?? ''}`;
}

/** `field:value` lines of an INFO-like answer. */
function fieldsOf(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split(/\r?\n/)
      .filter((line) => line.includes(':'))
      .map((line) => [
        line.slice(0, line.indexOf(':')),
        line.slice(line.indexOf(':') + 1).trim(),
      ]),
  );
}

/** A flat `[key, value, ...]` answer (HELLO in RESP2) as an object. */
function pairs(flat: unknown[]): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2)
    object[String(flat[i])] = flat[i + 1];
  return object;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
