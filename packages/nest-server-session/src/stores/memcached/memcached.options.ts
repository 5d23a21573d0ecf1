import { z } from 'zod';
import { bytes, hostPorts, prefixRules } from '../../options/checks.js';
import { commonOptions } from '../../options/common.options.js';
import { fromEnv } from '../../options/env-vars.js';
import { SESSION_ID_LENGTH } from '../../session-id.js';
import {
  MEMCACHED_KEY_FORBIDDEN,
  MEMCACHED_MAX_KEY_BYTES,
} from './memcached-limits.js';

const SERVERS_REQUIRED = 'required, one or more "host:port"';
const MAX_PREFIX_BYTES = MEMCACHED_MAX_KEY_BYTES - SESSION_ID_LENGTH;

/** Options of the memcached store. */
export const memcachedOptions = commonOptions
  .extend({
    type: z.literal('memcached'),
    /** `host:port` of each server; keys are spread across them. */
    servers: fromEnv(
      'MEMCACHED_SERVERS',
      hostPorts(SERVERS_REQUIRED),
      'comma-separated `host:port` list; keys are spread across the servers',
      { fallback: () => ['127.0.0.1:11211'] },
    ),
  })
  .superRefine(
    ...prefixRules((prefix) => [
      bytes(prefix) > MAX_PREFIX_BYTES &&
        `at most ${MAX_PREFIX_BYTES} bytes with memcached (keys are limited to ${MEMCACHED_MAX_KEY_BYTES}), got ${bytes(prefix)}`,
      MEMCACHED_KEY_FORBIDDEN.test(prefix) &&
        'memcached keys cannot hold spaces or control characters',
    ]),
  );
