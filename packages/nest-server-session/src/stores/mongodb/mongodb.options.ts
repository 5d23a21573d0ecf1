import { z } from 'zod';
import { connectionUrl, quote, text } from '../../options/checks.js';
import { commonOptions } from '../../options/common.options.js';
import { fromEnv } from '../../options/env-vars.js';

/** Options of the MongoDB store. */
export const mongodbOptions = commonOptions.extend({
  type: z.literal('mongodb'),
  /** `mongodb://` or `mongodb+srv://` connection string, database included. */
  url: fromEnv(
    'MONGODB_URL',
    connectionUrl(['mongodb:', 'mongodb+srv:']),
    '`mongodb://` or `mongodb+srv://`, the database in the path',
    { fallback: () => 'mongodb://127.0.0.1:27017/sessions' },
  ),
  /**
   * Collection that holds the sessions; a TTL index on it expires them. Each user's sessions
   * are listed from `<collectionName>_users` beside it. @default 'sessions'
   */
  collectionName: fromEnv(
    'SESSION_MONGODB_COLLECTION',
    text(
      (value) => `not a valid MongoDB collection name: ${quote(value)}`,
      (name) => /^(?!system\.)[^$\0]{1,120}$/.test(name),
    ).default('sessions'),
    'collection of the sessions, with a TTL index on `expires`',
  ),
});
