import { Logger } from '@nestjs/common';
import { MongoClient } from 'mongodb';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import type { SessionCodec } from '../common/session-codec.js';
import type { SessionBackend } from '../store.contract.js';
import { MongoSessionCollection } from './mongo-collection.js';
import { MongoSessionBackend } from './mongo-session.store.js';

type MongoOptions = ResolvedOptionsOf<'mongodb'>;

/** Shortest time a connection attempt gets, whatever the per-call deadline. */
const MIN_CONNECT_TIMEOUT_MS = 2000;

/**
 * A client for `options.url` (its database is the one used) whose calls give up on an unreachable
 * server within `storeTimeoutMs`, so a call fails rather than hangs. It connects on first use.
 */
export function createMongoClient(
  options: Pick<MongoOptions, 'url' | 'storeTimeoutMs'>,
): MongoClient {
  return new MongoClient(options.url, {
    serverSelectionTimeoutMS: options.storeTimeoutMs,
    // A first TLS + auth handshake to a remote cluster can outlast one call's deadline; the
    // driver keeps connecting in the background, so calls still fail fast meanwhile (as Redis).
    connectTimeoutMS: Math.max(options.storeTimeoutMs, MIN_CONNECT_TIMEOUT_MS),
  });
}

/**
 * Sessions in `collectionName` of the URL's database, as connect-mongo stores them
 * (`{ _id: prefix + sid, session, expires }`, deleted by a TTL index on `expires`, the session
 * encoded by `codec`: a string, or BSON Binary for msgpack) plus a version for compare-and-set
 * writes; each user's sessions in `<collectionName>_users`. Resolves without waiting for
 * MongoDB, so the app starts while it is down; calls then fail one by one until it is back.
 * @param client the client to use instead of one from {@link createMongoClient} (tests)
 */
export async function createMongoBackend(
  options: MongoOptions,
  codec: SessionCodec,
  client: MongoClient = createMongoClient(options),
): Promise<SessionBackend> {
  const sessions = new MongoSessionCollection(client, options.collectionName);
  const logger = new Logger('MongoSessionStore');
  // Not awaited: a server that never answers must not hold up the start. Writes retry it.
  sessions
    .prepare()
    .catch((err: unknown) =>
      logger.warn(`MongoDB not ready at startup: ${(err as Error).message}`),
    );
  return new MongoSessionBackend(sessions, options.prefix, codec);
}
