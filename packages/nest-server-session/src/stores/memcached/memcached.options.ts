import { z } from 'zod';
import { bytes, prefixRules, quote, text } from '../../options/checks.js';
import { commonOptions } from '../../options/common.options.js';
import { fromEnv } from '../../options/env-vars.js';
import { SESSION_ID_LENGTH } from '../../session-id.js';
import {
  MEMCACHED_KEY_FORBIDDEN,
  MEMCACHED_MAX_KEY_BYTES,
} from './memcached-limits.js';

/** `host:port` with a port from 1 to 65535; IPv6 hosts in brackets. */
export function isHostPort(value: string): boolean {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65535;
}

const SERVERS_REQUIRED = 'required, one or more "host:port"';
const MAX_PREFIX_BYTES = MEMCACHED_MAX_KEY_BYTES - SESSION_ID_LENGTH;

/** Options of the memcached store. */
export const memcachedOptions = commonOptions
  .extend({
    type: z.literal('memcached'),
    /** `host:port` of each server; keys are spread across them. */
    servers: fromEnv(
      'MEMCACHED_SERVERS',
      z
        .array(
          text((value) => `not a "host:port": ${quote(value)}`, isHostPort),
          { error: SERVERS_REQUIRED },
        )
        .min(1, { error: SERVERS_REQUIRED }),
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
