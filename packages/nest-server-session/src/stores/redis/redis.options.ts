import { z } from 'zod';
import { connectionUrl } from '../../options/checks.js';
import { commonOptions } from '../../options/common.options.js';
import { fromEnv } from '../../options/env-vars.js';

/** Options of the Redis store. */
export const redisOptions = commonOptions.extend({
  type: z.literal('redis'),
  /** `redis://[user:pass@]host:port[/db]`, or `rediss://` for TLS. */
  url: fromEnv(
    'REDIS_URL',
    connectionUrl(['redis:', 'rediss:']),
    '`redis://[user:pass@]host:port[/db]`, or `rediss://` for TLS',
    { fallback: () => 'redis://127.0.0.1:6379' },
  ),
});
