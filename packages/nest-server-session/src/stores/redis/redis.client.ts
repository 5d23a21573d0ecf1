import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';

/** Longest pause between reconnection attempts: a store that comes back is used within this. */
const MAX_RECONNECT_DELAY_MS = 2000;
/** Idle time after which the kernel starts probing a quiet connection (TCP keepalive). */
const KEEPALIVE_DELAY_MS = 10_000;

/**
 * An ioredis client set to fail fast while Redis is away (no offline queue, one retry, a
 * command timeout) and to reconnect forever, so an outage costs 503s, never a growing queue or
 * a hung request, and ends by itself.
 *
 * A connection that a proxy or a NAT silently dropped (no reset) looks open forever; every
 * command on it would time out while new connections work. So a connection that sends nothing
 * back for a whole deadline while a command waits is destroyed and replaced (ioredis's
 * `socketTimeout`). Its timer restarts on every reply, so it only fires once the oldest command
 * waiting has already failed its deadline: a Redis that is slow but answers in time keeps its
 * connection.
 */
export async function connectRedis(
  url: string,
  timeoutMs: number,
): Promise<Redis> {
  const logger = new Logger('RedisSessionStore');
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    keepAlive: KEEPALIVE_DELAY_MS,
    connectTimeout: Math.max(timeoutMs, 2000),
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
  });
  // Log each outage once rather than once per reconnection attempt.
  let healthy = true;
  client.on('error', (err: Error) => {
    if (healthy) logger.warn(`Redis unreachable: ${err.message}`);
    healthy = false;
  });
  client.on('ready', () => {
    if (!healthy) logger.log('Redis connection restored');
    healthy = true;
  });
  client.on('close', () => forgetSocketTimer(client));
  await waitUntilReady(client, timeoutMs);
  return client;
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
function waitUntilReady(client: Redis, timeoutMs: number): Promise<void> {
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
