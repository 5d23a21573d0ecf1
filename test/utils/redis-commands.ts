import type { Redis } from 'ioredis';

/** Calls per command the server has run (INFO commandstats), without the INFO that reads them. */
export async function commandStats(
  client: Redis,
): Promise<Record<string, number>> {
  const info = await client.info('commandstats');
  const stats: Record<string, number> = {};
  for (const [, name, calls] of info.matchAll(
    /^cmdstat_([\w|]+):calls=(\d+)/gm,
  )) {
    if (name !== 'info') stats[name] = Number(calls);
  }
  return stats;
}

/** What ran between two {@link commandStats} readings, by command, zero counts left out. */
export function commandsBetween(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const ran: Record<string, number> = {};
  for (const [name, calls] of Object.entries(after)) {
    const delta = calls - (before[name] ?? 0);
    if (delta > 0) ran[name] = delta;
  }
  return ran;
}

/**
 * The commands clients sent while `work` ran, by name, as MONITOR sees them: a script counts
 * as the one command a client sent (commandstats also counts the commands it runs inside).
 * `client` opens a connection of its own for the watch, closed after.
 */
export async function commandsSent(
  client: Redis,
  work: () => Promise<unknown>,
): Promise<Record<string, number>> {
  const monitor = await client.monitor();
  const sent: Record<string, number> = {};
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === 'lua') return;
    const name = args[0].toLowerCase();
    sent[name] = (sent[name] ?? 0) + 1;
  });
  try {
    await work();
    // The last commands' echoes may still be on their way: a PING through the watch comes
    // back after them.
    await monitor.ping().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    return sent;
  } finally {
    monitor.disconnect();
  }
}
