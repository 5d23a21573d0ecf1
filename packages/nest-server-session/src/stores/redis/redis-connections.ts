import {
  Cluster,
  Redis,
  type ClusterOptions,
  type RedisOptions,
  type SentinelAddress,
} from 'ioredis';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import { DEFAULT_REDIS_URL } from './redis.options.js';
import type { RedisConnection } from './redis-mode.js';
import { followMasterSwitches } from './sentinel-switch.js';

/** Longest pause between reconnection attempts: a store that comes back is used within this. */
const MAX_RECONNECT_DELAY_MS = 2000;
/** Sentinel mode asks the sentinels again this often at most while the master is away. */
const MAX_SENTINEL_RECONNECT_DELAY_MS = 500;
/** Idle time after which the kernel starts probing a quiet connection (TCP keepalive). */
const KEEPALIVE_DELAY_MS = 10_000;
/** A cluster's slot map is asked for this often, besides after every MOVED and failover. */
const SLOTS_REFRESH_MS = 5000;

/**
 * Settings of every store connection. A connection that a proxy or a NAT silently dropped (no
 * reset) looks open forever; every command on it would time out while new connections work.
 * So a connection that sends nothing back for a whole deadline while a command waits is
 * destroyed and replaced (ioredis's `socketTimeout`). Its timer restarts on every reply, so it
 * only fires once the oldest command waiting has already failed its deadline: a Redis that is
 * slow but answers in time keeps its connection. A server that says READONLY has been demoted
 * (a failover behind a DNS name or a Sentinel): the connection is dropped and made again, to
 * whichever server is master now.
 */
function connectionSettings(options: ResolvedOptionsOf<'redis'>): RedisOptions {
  const timeoutMs = options.storeTimeoutMs;
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    keepAlive: KEEPALIVE_DELAY_MS,
    connectTimeout: Math.max(timeoutMs, 2000),
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
    ...(options.username !== undefined && { username: options.username }),
    ...(options.password !== undefined && { password: options.password }),
    ...(options.database !== undefined && { db: options.database }),
    ...(options.tls && { tls: {} }),
  };
}

export function singleClient(options: ResolvedOptionsOf<'redis'>): Redis {
  return new Redis(
    options.url ?? DEFAULT_REDIS_URL,
    connectionSettings(options),
  );
}

/**
 * The master the sentinels name, asked again on every reconnection. A connection that lands
 * on a server that is no master (yet) is dropped again by ioredis; the sentinels'
 * announcements of a new master move the client even when the old one is still running.
 */
export function sentinelConnection(
  options: ResolvedOptionsOf<'redis'>,
): RedisConnection {
  const timeoutMs = options.storeTimeoutMs;
  const sentinels = options.sentinels!.map(addressOf);
  const sentinelTLS = options.tls ? {} : undefined;
  const client = new Redis({
    ...connectionSettings(options),
    sentinels,
    name: options.sentinelName!,
    role: 'master',
    ...(options.sentinelPassword !== undefined && {
      sentinelPassword: options.sentinelPassword,
    }),
    ...(sentinelTLS && { enableTLSForSentinelMode: true, sentinelTLS }),
    sentinelCommandTimeout: timeoutMs,
    sentinelRetryStrategy: (attempt) =>
      Math.min(attempt * 50, MAX_SENTINEL_RECONNECT_DELAY_MS),
    retryStrategy: (attempt) =>
      Math.min(attempt * 50, MAX_SENTINEL_RECONNECT_DELAY_MS),
  });
  const stopWatching = followMasterSwitches(
    client,
    sentinels,
    options.sentinelName!,
    {
      password: options.sentinelPassword,
      tls: sentinelTLS,
      connectTimeout: Math.max(timeoutMs, 2000),
    },
  );
  return { client, mode: 'sentinel', owned: true, stopWatching };
}

/**
 * A cluster client: commands go to the master of their key's slot, MOVED and ASK are
 * followed, and while a master is failing over its commands are retried against a fresh slot
 * map every 100 ms until the store deadline fails them. Nodes connect with the store's
 * settings; ioredis itself drops a node that closes and finds it again from the slot map.
 */
export function clusterClient(options: ResolvedOptionsOf<'redis'>): Cluster {
  const timeoutMs = options.storeTimeoutMs;
  const clusterOptions: ClusterOptions = {
    redisOptions: connectionSettings(options),
    enableOfflineQueue: false,
    scaleReads: 'master',
    slotsRefreshTimeout: timeoutMs,
    slotsRefreshInterval: SLOTS_REFRESH_MS,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    clusterRetryStrategy: (attempt) =>
      Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
  };
  return new Cluster(options.clusterNodes!.map(addressOf), clusterOptions);
}

/** `host:port` (IPv6 in brackets) as ioredis takes it. */
function addressOf(hostPort: string): SentinelAddress {
  const at = hostPort.lastIndexOf(':');
  return {
    host: hostPort.slice(0, at).replace(/^\[|\]$/g, ''),
    port: Number(hostPort.slice(at + 1)),
  };
}
