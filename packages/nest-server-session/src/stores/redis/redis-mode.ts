import type { Cluster, Redis } from 'ioredis';

/** A connection to Redis in any mode: one server or Sentinel (`Redis`), or a `Cluster`. */
export type RedisClient = Redis | Cluster;
export type RedisMode = 'single' | 'sentinel' | 'cluster';

/** Whether `client` is a cluster client (ioredis types `isCluster` as a plain boolean). */
export const isCluster = (client: RedisClient): client is Cluster =>
  client.isCluster;

/** What a client is connected to: a cluster, the master Sentinel names, or one server. */
export function modeOf(client: RedisClient): RedisMode {
  if (isCluster(client)) return 'cluster';
  return client.options.sentinels ? 'sentinel' : 'single';
}
