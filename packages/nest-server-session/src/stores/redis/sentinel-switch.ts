import { Redis, type RedisOptions, type SentinelAddress } from 'ioredis';

/** Longest pause between attempts to reach a sentinel that went away. */
const MAX_SENTINEL_RETRY_MS = 5000;

/**
 * Follows the sentinels' announcements of a new master (`+switch-master`): when the master
 * they name is not the server `client` is connected to, its connection is dropped and made
 * again, to the master the sentinels name now. This catches a failover that leaves the old
 * master running (a manual one, a partition), where nothing else would move the client before
 * its next write met READONLY, and reads and /health would stay on a replica meanwhile.
 *
 * Every sentinel announces the switch as it learns of it, some a second or two after the
 * others: an announcement of the master the client already reached changes nothing, where
 * ioredis's own `failoverDetector` would drop the new connection again. Returns a stop.
 */
export function followMasterSwitches(
  client: Redis,
  sentinels: SentinelAddress[],
  masterName: string,
  settings: Pick<RedisOptions, 'password' | 'tls' | 'connectTimeout'>,
): () => void {
  const subscribers = sentinels.map((sentinel) => {
    const subscriber = new Redis({
      host: sentinel.host,
      port: sentinel.port,
      ...settings,
      // A sentinel that is away for a while is tried again, without hurrying.
      retryStrategy: (attempt) =>
        Math.min(attempt * 500, MAX_SENTINEL_RETRY_MS),
      maxRetriesPerRequest: null,
    });
    // Its outages are no outage of the store: the client finds the master through the others.
    subscriber.on('error', () => undefined);
    subscriber.subscribe('+switch-master').catch(() => undefined);
    subscriber.on('message', (_channel: string, text: string) => {
      const [name, , , host, port] = text.split(' ');
      if (
        name === masterName &&
        client.status === 'ready' &&
        connectedTo(client) !== `${host}:${port}`
      )
        client.disconnect(true);
    });
    return subscriber;
  });
  return () => subscribers.forEach((subscriber) => subscriber.disconnect());
}

/** `ip:port` of the server the client's connection leads to now. */
export function connectedTo(client: Redis): string | undefined {
  const stream = (
    client as unknown as {
      stream?: { remoteAddress?: string; remotePort?: number };
    }
  ).stream;
  return stream?.remoteAddress && stream.remotePort
    ? `${stream.remoteAddress}:${stream.remotePort}`
    : undefined;
}
