/** Test helpers shared by the MongoDB store's specs; not part of the build. */
import { expect } from '@jest/globals';
import type { SessionData } from 'express-session';
import { MongoServerError } from 'mongodb';
import type { ResolvedOptionsOf } from '../../options/session.options.js';
import { session } from '../common/store.fixtures.js';

export const LIFETIME = 3600;
/** The sessions collection the specs' options name, and the per-user index beside it. */
export const COLLECTION = 'web_sessions';
export const USERS_COLLECTION = 'web_sessions_users';

/** The liveness condition every call but create and clear sends: an expiry still ahead. */
export const LIVE = { expires: { $gt: expect.any(Date) } };

export function mongoOptions(
  overrides: Partial<ResolvedOptionsOf<'mongodb'>> = {},
): ResolvedOptionsOf<'mongodb'> {
  return {
    type: 'mongodb',
    url: 'mongodb://127.0.0.1:27017/appdb',
    collectionName: COLLECTION,
    prefix: 'session:',
    lifetime: LIFETIME,
    storeTimeoutMs: 300,
    ...overrides,
  } as ResolvedOptionsOf<'mongodb'>;
}

/** A document as the previous release (connect-mongo) wrote it: no version. */
export const connectMongoDoc = (
  id: string,
  data: SessionData = session({ old: true }),
  expiresInMs = 60_000,
) => ({
  _id: id,
  session: JSON.stringify(data),
  expires: new Date(Date.now() + expiresInMs),
});

/** What a secondary answers a write (index creation included) during an election. */
export const notPrimary = () =>
  new MongoServerError({
    message: 'not primary',
    code: 10107,
    codeName: 'NotWritablePrimary',
  });
