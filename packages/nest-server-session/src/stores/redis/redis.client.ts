import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import { batchWrites } from './batched-writes.js';
import {
  clusterClient,
  sentinelConnection,
  singleClient,
} from './redis-connections.js';
import {
  isCluster,
  modeOf,
  type RedisClient,
  type RedisConnection,
} from './redis-mode.js';
import { assertIsPlainServer } from './server-role.js';

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
  batchWrites(client);
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
