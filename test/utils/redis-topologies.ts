import { expect } from '@jest/globals';
import { Cluster, Redis } from 'ioredis';
import { RedisCluster } from './redis-cluster.js';
import type { RedisNode } from './redis-node.js';
import { RedisSentinelGroup, SENTINEL_MASTER_NAME } from './redis-sentinel.js';
import type { StoreCase } from './store-cases.js';
import { redisProbe } from './store-probes.js';

/** Started at the first setUp of a test file, stopped after its last block (afterAll). */
const running = new Map<string, Promise<{ stop(): Promise<void> }>>();

/** The topology named `name`, started once per test file (each file has its own modules). */
function shared<T extends { stop(): Promise<void> }>(
  name: string,
  start: () => Promise<T>,
): Promise<T> {
  let topology = running.get(name);
  if (!topology) {
    topology = start();
    running.set(name, topology);
  }
  return topology as Promise<T>;
}

/** Stops what the file's blocks shared; the next block (if any) starts afresh. */
export async function stopSharedTopologies(): Promise<void> {
  const topologies = [...running.values()];
  running.clear();
  await Promise.all(
    topologies.map((topology) =>
      topology.then(
        (t) => t.stop(),
        () => undefined,
      ),
    ),
  );
}

const hostAndPort = (node: RedisNode) => ({
  host: '127.0.0.1',
  port: node.clientPort,
});

const PROXY_NOTE =
  'the client goes to the servers the cluster or the sentinels name, past a proxy in front of the one configured';

/**
 * The Redis store on a 3-master cluster and on a Sentinel group, both private servers on free
 * ports. Setting them up takes seconds, so a test file's blocks share one of each: every test
 * keeps to its own prefix, and the failover tests start groups of their own.
 */
export function redisTopologyCases(): StoreCase[] {
  return [
    {
      name: 'redis (cluster)',
      type: 'redis',
      enumerable: true,
      shared: true,
      notBehindProxy: PROXY_NOTE,
      health: { mode: 'cluster', nodes: expect.any(Array) },
      unreachableEnv: (hostPort) => ({ REDIS_CLUSTER_NODES: hostPort }),
      setUp: async () => {
        const cluster = await shared('cluster', () => RedisCluster.start());
        return {
          env: { SESSION_TYPE: 'redis', REDIS_CLUSTER_NODES: cluster.seeds },
          probe: (prefix) =>
            redisProbe(
              () => new Cluster(cluster.nodes.map(hostAndPort)),
              prefix,
            ),
          tearDown: () => Promise.resolve(),
        };
      },
    },
    {
      name: 'redis (sentinel)',
      type: 'redis',
      enumerable: true,
      shared: true,
      notBehindProxy: PROXY_NOTE,
      health: { mode: 'sentinel', nodes: expect.any(Array) },
      unreachableEnv: (hostPort) => ({ REDIS_SENTINELS: hostPort }),
      setUp: async () => {
        const group = await shared('sentinel', () =>
          RedisSentinelGroup.start(),
        );
        return {
          env: {
            SESSION_TYPE: 'redis',
            REDIS_SENTINELS: group.addresses,
            REDIS_SENTINEL_NAME: SENTINEL_MASTER_NAME,
          },
          probe: (prefix) =>
            redisProbe(
              () =>
                new Redis({
                  sentinels: group.sentinels.map(hostAndPort),
                  name: SENTINEL_MASTER_NAME,
                  maxRetriesPerRequest: 1,
                }),
              prefix,
            ),
          tearDown: () => Promise.resolve(),
        };
      },
    },
  ];
}
