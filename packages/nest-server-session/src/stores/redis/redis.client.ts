import { Logger } from '@nestjs/common';
import {
  Cluster,
  Redis,
  type ClusterOptions,
  type RedisOptions,
  type SentinelAddress,
} from 'ioredis';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import { DEFAULT_REDIS_URL } from './redis.options.js';
import { assertIsPlainServer } from './redis-health.js';
import { followMasterSwitches } from './sentinel-switch.js';
import {
  isCluster,
  modeOf,
  type RedisClient,
  type RedisMode,
} from './redis-mode.js';

export interface RedisConnection {
  client: RedisClient;
  mode: RedisMode;
  /** Whether the store made the client, and so closes it. */
  owned: boolean;
  /** Stops what watches the client (the sentinels' announcements). */
  stopWatching?: () => void;
}

/** Longest pause between reconnection attempts: a store that comes back is used within this. */
const MAX_RECONNECT_DELAY_MS = 2000;
/** Sentinel mode asks the sentinels again this often at most while the master is away. */
const MAX_SENTINEL_RECONNECT_DELAY_MS = 500;
/** Idle time after which the kernel starts probing a quiet connection (TCP keepalive). */
const KEEPALIVE_DELAY_MS = 10_000;
/** A cluster's slot map is asked for this often, besides after every MOVED and failover. */
const SLOTS_REFRESH_MS = 5000;

/**
 * Connects in the mode the options say (a client of the app's own is used as given). Store
 * clients fail fast while Redis is away (no offline queue, one retry, a command timeout) and
 * reconnect forever, so an outage costs 503s, never a growing queue or a hung request, and
 * ends by itself; in Sentinel and Cluster mode they also follow a failover by themselves.
 */
export async function connectRedis(
  options: ResolvedOptionsOf<'redis'>,
): Promise<RedisConnection> {
  if (options.client) {
    const client = options.client;
    watchSocketTimers(client);
    await waitUntilReady(client, options.storeTimeoutMs);
    return { client, mode: modeOf(client), owned: false };
  }
  const timeoutMs = options.storeTimeoutMs;
  const connection: RedisConnection = options.clusterNodes
    ? { client: clusterClient(options), mode: 'cluster', owned: true }
    : options.sentinels
      ? sentinelConnection(options)
      : { client: singleClient(options), mode: 'single', owned: true };
  const { client } = connection;
  logOutages(client);
  watchSocketTimers(client);
  await waitUntilReady(client, timeoutMs);
  if (connection.mode === 'single')
    await assertIsPlainServer(client as Redis, timeoutMs).catch(
      (err: unknown) => {
        client.disconnect();
        throw err;
      },
    );
  return connection;
}

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

function singleClient(options: ResolvedOptionsOf<'redis'>): Redis {
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
function sentinelConnection(
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
function clusterClient(options: ResolvedOptionsOf<'redis'>): Cluster {
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

/** Logs each outage once rather than once per reconnection attempt. */
function logOutages(client: RedisClient): void {
  const logger = new Logger('RedisSessionStore');
  let healthy = true;
  const down = (err: Error, where = 'Redis') => {
    if (healthy) logger.warn(`${where} unreachable: ${err.message}`);
    healthy = false;
  };
  client.on('error', (err: Error) => down(err));
  client.on('node error', (err: Error, node: string) =>
    down(err, `Redis node ${node}`),
  );
  client.on('ready', () => {
    if (!healthy) logger.log('Redis connection restored');
    healthy = true;
  });
  // A cluster stays ready while one master fails over; its recovery shows as slot-map
  // refreshes that succeed.
  client.on('refresh', () => {
    if (!healthy) logger.log('Redis cluster slot map refreshed');
    healthy = true;
  });
}

/** Applies the fix below to the client's connection, or to each node's of a cluster. */
function watchSocketTimers(client: RedisClient): void {
  if (isCluster(client)) {
    client.on('+node', (node: Redis) => watchSocketTimers(node));
    for (const node of client.nodes()) watchSocketTimers(node);
  } else client.on('close', () => forgetSocketTimer(client));
}

/**
 * ioredis 5 leaves the `socketTimeout` timer of a connection that closed before replying
 * running, and when it fires it destroys the connection current by then: the healthy one that
 * replaced it (redis/ioredis#2147, fixed in ioredis 6 by clearing it on close, as here). It
 * also kept a closed client's process alive for up to a deadline.
 */
function forgetSocketTimer(client: Redis): void {
  const internals = client as unknown as {
    socketTimeoutTimer?: NodeJS.Timeout;
  };
  clearTimeout(internals.socketTimeoutTimer);
  internals.socketTimeoutTimer = undefined;
}

/** Gives the first connection a moment so that the first requests need not fail; never throws. */
function waitUntilReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    client.once('ready', done);
  });
}

/** Closes a client the store made: QUIT first, so Redis answers what it was sent. */
export async function closeRedis({
  client,
  owned,
  stopWatching,
}: RedisConnection): Promise<void> {
  stopWatching?.();
  if (!owned) return;
  // Ending a connection that is already closed would leave ioredis's 2 s disconnect timer
  // behind, holding the process up.
  if (client.status === 'ready') await client.quit().catch(() => undefined);
  if (client.status !== 'end') client.disconnect();
}
