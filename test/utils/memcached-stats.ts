import type { Client } from 'memjs';

/**
 * The counters of `stats` (cmd_get, get_hits, cmd_set, curr_items, ...) of the client's only
 * server, as numbers: a private memcached, so that only the test's own commands move them.
 */
export function memcachedCounters(
  client: Client,
): Promise<Record<string, number>> {
  return new Promise((resolve, reject) =>
    client.stats((err, _server, stats) =>
      err
        ? reject(err)
        : resolve(
            Object.fromEntries(
              Object.entries(stats!).map(([name, value]) => [
                name,
                Number(value),
              ]),
            ),
          ),
    ),
  );
}
