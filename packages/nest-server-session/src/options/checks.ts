import { z } from 'zod';
import * as codec from './env-codecs.js';
import { kindCodecs, listOr } from './env-codecs.js';

/** Node timers wait at most 2^31 − 1 ms (24.8 days); a longer delay fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * For checks of one option against another: they run even when some other option failed, so
 * that every problem is listed at once (zod skips them by default).
 */
export const ALWAYS = { when: () => true };

/**
 * `value` with any password masked: `user:***@` before the last "@", and `password=***` in a
 * query. Works on text that is no URL too: a "#" in a password stops `new URL()`.
 */
export function redactCredentials(value: string): string {
  const at = value.lastIndexOf('@');
  const slashes = value.indexOf('//');
  const start = slashes >= 0 && slashes < at ? slashes + 2 : 0;
  const colon = value.indexOf(':', start);
  const masked =
    colon < 0 || colon > at
      ? value
      : `${value.slice(0, colon + 1)}***${value.slice(at)}`;
  return masked.replace(/([?&](?:password|pass|pwd)=)[^&]*/gi, '$1***');
}

/** A value as problem lines quote it: in double quotes, credentials masked. */
export const quote = (value: unknown) =>
  `"${redactCredentials(String(value))}"`;

/** UTF-8 bytes of `value`, as key limits count them. */
export const bytes = (value: string) => Buffer.byteLength(value, 'utf8');

/** A boolean option; its variable takes true/false, 1/0, yes/no, on/off. */
export const flag = () =>
  z
    .boolean({
      error: (issue) => `must be true or false, got ${String(issue.input)}`,
    })
    .register(kindCodecs, codec.boolean);

/** A string option that `valid` accepts; anything else is one line, `message(value)`. */
export function text(
  message: (value: unknown) => string,
  valid: (value: string) => boolean = () => true,
) {
  const error = (issue: { input?: unknown }) => message(issue.input);
  return z.string({ error }).refine(valid, { error });
}

/**
 * An integer option of at least `min`: anything else is one line, `reason, got value`; past
 * `max.value` it is `max.reason, got value`. Its variable takes digits, refused with `envReason`.
 */
export function integer(
  reason: string,
  min: number,
  max?: { value: number; reason: string },
  envReason = reason,
) {
  const error = (issue: { input?: unknown }) =>
    `${reason}, got ${String(issue.input)}`;
  const whole = z
    .number({ error })
    .refine((n) => Number.isSafeInteger(n) && n >= min, { error, abort: true });
  const bounded = max
    ? whole.refine((n) => n <= max.value, {
        error: (issue) => `${max.reason}, got ${String(issue.input)}`,
      })
    : whole;
  return bounded.register(kindCodecs, codec.integer(envReason, min));
}

/** `host:port` with a port from 1 to 65535; IPv6 hosts in brackets. */
export function isHostPort(value: string): boolean {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65535;
}

/** A list of one or more `host:port`; its variable is comma-separated. `required` when empty. */
export function hostPorts(required: string) {
  return z
    .array(
      text((value) => `not a "host:port": ${quote(value)}`, isHostPort),
      { error: required },
    )
    .min(1, { error: required });
}

/**
 * A connection URL with one of `schemes` and a host (sqlite: a path). A "#" is refused: in a
 * connection string it is a password character left unencoded, which would cut the URL short.
 */
export function connectionUrl(schemes: readonly string[]) {
  return text(
    (value) =>
      `must be a ${listOr(schemes)} URL${String(value).includes('#') ? ' with any "#" percent-encoded as %23' : ''}, got ${quote(value)}`,
    (value) => {
      const parsed = URL.parse(value);
      if (!parsed || !schemes.includes(parsed.protocol) || value.includes('#'))
        return false;
      return parsed.protocol === 'sqlite:'
        ? value.replace(/^sqlite:(\/\/)?/, '') !== ''
        : parsed.hostname !== '';
    },
  );
}

/**
 * A store's rules on the key prefix, for `.superRefine(...prefixRules(...))` on its options:
 * `rules(prefix)` gives one message per rule, false where the prefix passes.
 */
export function prefixRules(rules: (prefix: string) => (string | false)[]) {
  return [
    (options: { prefix?: unknown }, ctx: z.RefinementCtx) => {
      if (typeof options.prefix !== 'string') return;
      for (const message of rules(options.prefix))
        if (message)
          ctx.addIssue({ code: 'custom', path: ['prefix'], message });
    },
    ALWAYS,
  ] as const;
}
