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
