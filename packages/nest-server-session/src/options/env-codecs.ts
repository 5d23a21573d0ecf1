/** How environment variables' texts become option values. */
import { z } from 'zod';

/** How a variable's text becomes an option's value. */
export interface EnvCodec {
  /** The value, or undefined when the text is not one. */
  parse(raw: string): unknown;
  /** Why a text was refused; a function of the options read so far when it depends on them. */
  rule: string | ((read: Record<string, unknown>) => string);
  /** Taken as written, spaces included, and set but empty is a value rather than unset. */
  verbatim?: boolean;
}

/** How each kind of option reads, registered by the builders of kinds (`flag()`, `integer()`). */
export const kindCodecs = z.registry<EnvCodec>();

/** `a, b or c` */
export const listOr = (items: readonly string[]) =>
  items.length < 2
    ? items.join('')
    : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;

export const text: EnvCodec = { parse: (raw) => raw, rule: '' };
export const verbatim: EnvCodec = { ...text, verbatim: true };
/** Comma-separated, entries trimmed, empty ones dropped. */
export const list: EnvCodec = {
  parse: (raw) =>
    raw
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== ''),
  rule: '',
};
const BOOLEANS = new Map(
  [true, false].flatMap((value) =>
    (value ? ['true', '1', 'yes', 'on'] : ['false', '0', 'no', 'off']).map(
      (word) => [word, value] as const,
    ),
  ),
);
export const boolean: EnvCodec = {
  parse: (raw) => BOOLEANS.get(raw.toLowerCase()),
  rule: 'must be true or false',
};
/** One of `values`, in any case. */
export const oneOf = (
  values: readonly string[],
  rule = `must be ${listOr(values)}`,
): EnvCodec => ({
  parse: (raw) => values.find((value) => value === raw.toLowerCase()),
  rule,
});
/** Decimal digits only, from `min` to `max`. */
export const integer = (
  rule: EnvCodec['rule'],
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): EnvCodec => ({
  parse: (raw) =>
    /^\d+$/.test(raw) && Number(raw) >= min && Number(raw) <= max
      ? Number(raw)
      : undefined,
  rule,
});
