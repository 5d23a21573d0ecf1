import type { Env } from 'nest-server-session';

/** The port each URL scheme of a store server defaults to. */
const DEFAULT_PORTS: Record<string, number> = {
  'redis:': 6379,
  'rediss:': 6379,
  'postgres:': 5432,
  'postgresql:': 5432,
  'mysql:': 3306,
  'mongodb:': 27017,
};

/**
 * Where the server of a store case's environment listens, for a TCP proxy in front of it;
 * undefined for the stores that have none (memory, SQLite, files).
 */
export function storeServerOf(
  env: Env,
): { host: string; port: number } | undefined {
  const servers = env.MEMCACHED_SERVERS;
  if (servers) {
    const [host, port] = servers.split(',')[0].trim().split(':');
    return { host, port: Number(port) };
  }
  const url = env.REDIS_URL ?? env.MONGODB_URL ?? env.DATABASE_URL;
  if (!url || url.startsWith('sqlite:')) return undefined;
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port) || DEFAULT_PORTS[parsed.protocol],
  };
}
