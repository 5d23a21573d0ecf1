import { createRequire } from 'node:module';
import { inspect } from 'node:util';
import type { ResolvedSessionOptions } from '../options/session.options.js';

/**
 * The npm packages a store type loads. They are optional peer dependencies of this package, so
 * an app installs only its own store's driver; what is missing stops the start with one line.
 */
export function driversOf(options: ResolvedSessionOptions): string[] {
  switch (options.type) {
    case 'redis':
      return ['ioredis', 'connect-redis'];
    case 'memcached':
      return ['memjs'];
    case 'mongodb':
      return ['mongodb'];
    case 'sql':
      return ['knex', sqlDriverOf(options.url)];
    case 'filesystem':
    case 'memory':
      return [];
  }
}

/** The knex driver for a `DATABASE_URL` scheme. */
export function sqlDriverOf(url: string): string {
  if (url.startsWith('sqlite:')) return 'better-sqlite3';
  if (/^postgres(ql)?:/.test(url)) return 'pg';
  return 'mysql2';
}

const require = createRequire(import.meta.url);

/** Whether `name` can be loaded from where this package is installed. */
function isInstalled(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch (err) {
    // A package that only exports ESM entry points is there all the same.
    return (err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND';
  }
}

/**
 * A store's driver is not installed. Logged, it is its message alone: Nest logs an error thrown
 * while the app starts with util.inspect, and the stack (frames in Nest's injector) would bury
 * the one line that says what to install. `stack` itself is kept.
 */
export class MissingDriverError extends Error {
  override readonly name = 'MissingDriverError';

  [inspect.custom](): string {
    return this.message;
  }
}

/** Throws one line naming every missing driver of the configured type, and how to add them. */
export function assertDriversInstalled(
  options: ResolvedSessionOptions,
  installed: (name: string) => boolean = isInstalled,
): void {
  const missing = driversOf(options).filter((name) => !installed(name));
  if (missing.length === 0) return;
  const needs = driversOf(options).join(' and ');
  throw new MissingDriverError(
    `SESSION_TYPE=${options.type} needs ${needs}: npm install ${missing.join(' ')}`,
  );
}
