import { z } from 'zod';
import { connectionUrl } from '../../options/checks.js';
import { commonOptions } from '../../options/common.options.js';
import * as codec from '../../options/env-codecs.js';
import { envVars } from '../../options/env-var.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Options of the Redis store. */
export const redisOptions = commonOptions.extend({
  type: z.literal('redis'),
  /** `redis://[user:pass@]host:port[/db]`, or `rediss://` for TLS. */
  url: connectionUrl(['redis:', 'rediss:']).register(envVars, {
    name: 'REDIS_URL',
    codec: codec.text,
    fallback: () => DEFAULT_REDIS_URL,
    meaning: '`redis://[user:pass@]host:port[/db]`, or `rediss://` for TLS',
  }),
});
