import type { Cluster, Redis } from 'ioredis';

/** A connection to Redis in any mode: one server or Sentinel (`Redis`), or a `Cluster`. */
export type RedisClient = Redis | Cluster;
export type RedisMode = 'single' | 'sentinel' | 'cluster';

export interface RedisConnection {
  client: RedisClient;
  mode: RedisMode;
  /** Whether the store made the client, and so closes it. */
  owned: boolean;
  /** Stops what watches the client (the sentinels' announcements). */
  stopWatching?: () => void;
}

/** Whether `client` is a cluster client (ioredis types `isCluster` as a plain boolean). */
export const isCluster = (client: RedisClient): client is Cluster =>
  client.isCluster;

/** What a client is connected to: a cluster, the master Sentinel names, or one server. */
export function modeOf(client: RedisClient): RedisMode {
  if (isCluster(client)) return 'cluster';
  return client.options.sentinels ? 'sentinel' : 'single';
}

/** `host:port` a connection was told to go to. */
export function nodeAddress(node: Redis): string {
  return `${node.options.host ?? ''}:${node.options.port ?? ''}`;
}
