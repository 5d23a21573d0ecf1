import type { Redis } from 'ioredis';
import { withDeadline } from '../common/deadline.js';
import type { StoreHealth } from '../store.contract.js';
import { clusterHealth, down } from './cluster-health.js';
import {
  isCluster,
  nodeAddress,
  type RedisClient,
  type RedisMode,
} from './redis-mode.js';
import { connectedTo } from './sentinel-switch.js';
import { misdirected, roleOf } from './server-role.js';

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

/** Where the client is connected now (a Sentinel-named master), else where it was told to go. */
function connectedAddress(client: Redis): string {
  return connectedTo(client) ?? nodeAddress(client);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
