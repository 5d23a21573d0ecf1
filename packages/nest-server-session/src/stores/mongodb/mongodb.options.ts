import { z } from 'zod';
import { connectionUrl, quote, text } from '../../options/checks.js';
import { commonOptions } from '../../options/common.options.js';
import * as codec from '../../options/env-codecs.js';
import { envVars } from '../../options/env-var.js';

export const DEFAULT_MONGODB_URL = 'mongodb://127.0.0.1:27017/sessions';

/** Options of the MongoDB store. */
export const mongodbOptions = commonOptions.extend({
  type: z.literal('mongodb'),
  /** `mongodb://` or `mongodb+srv://` connection string, database included. */
  url: connectionUrl(['mongodb:', 'mongodb+srv:']).register(envVars, {
    name: 'MONGODB_URL',
    codec: codec.text,
    fallback: () => DEFAULT_MONGODB_URL,
    meaning: '`mongodb://` or `mongodb+srv://`, the database in the path',
  }),
  /** Collection that holds the sessions; a TTL index on it expires them. @default 'sessions' */
  collectionName: text(
    (value) => `not a valid MongoDB collection name: ${quote(value)}`,
    (name) => /^(?!system\.)[^$\0]{1,120}$/.test(name),
  )
    .default('sessions')
    .register(envVars, {
      name: 'SESSION_MONGODB_COLLECTION',
      codec: codec.text,
      meaning: 'collection of the sessions, with a TTL index on `expires`',
    }),
});
