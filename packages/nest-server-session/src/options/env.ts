import { z } from 'zod';

export type Env = Readonly<Record<string, string | undefined>>;

/** How a variable's text becomes an option's value. */
export interface EnvCodec {
  /** The value, or undefined when the text is not one. */
  parse(raw: string): unknown;
  /** Why a text was refused; a function of the options read so far when it depends on them. */
  rule: string | ((read: Record<string, unknown>) => string);
  /** Taken as written, spaces included, and set but empty is a value rather than unset. */
  verbatim?: boolean;
}

/** What a fallback may do while the variables are read. */
export interface EnvContext {
  production: boolean;
  warn(message: string): void;
  /** The variable is missing and must not be. */
  fail(reason: string): void;
}

/** The environment variable that sets an option; the mapping and the README's table come from these. */
export interface EnvVar {
  name: string;
  /** The README's "meaning" column. */
  meaning: string;
  /** Read when `name` is unset (Flask-Session's name for the same setting). */
  alias?: string;
  /** Where the option's kind (flag, integer, choice, list, text) does not say how to read it. */
  codec?: EnvCodec;
  /** The value when unset, where it is not the option's default (a local server; production rules). */
  fallback?: (context: EnvContext) => unknown;
  /** The README's "default" column, where the value alone would not say it. */
  shownDefault?: string;
  /** The README's "used by" column, where the store types that take the option would not say it. */
  usedBy?: string;
  /** Set with a store type that lacks the option: a warning ends with this reason. */
  ignoredBecause?: string;
}

export const envVars = z.registry<EnvVar>();
/** How each kind of option reads, registered by the builders of kinds (`flag()`, `integer()`). */
export const kindCodecs = z.registry<EnvCodec>();

/** Declares `option` to be set by the variable `name`: one line per variable. */
export const fromEnv = <T extends z.ZodType>(
  name: string,
  option: T,
  meaning: string,
  more: Omit<EnvVar, 'name' | 'meaning'> = {},
): T => {
  envVars.add(option, { name, meaning, ...more });
  return option;
};

/** `a, b or c` */
export const listOr = (items: readonly string[]) =>
  items.length < 2
    ? items.join('')
    : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;

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

/** `schema` without the optional/default wrappers around its kind. */
function unwrap(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodOptional ||
    schema instanceof z.ZodDefault ||
    schema instanceof z.ZodPrefault
    ? unwrap(schema.unwrap() as z.ZodType)
    : schema;
}

/** An option that a variable sets: its dotted path (`cookie.name`), its schema, its variable. */
export interface EnvField {
  path: string;
  option: z.ZodType;
  variable: EnvVar;
  codec: EnvCodec;
}

/** The variables of `schema`'s options, nested ones included, in the order they are declared. */
export function envFields(schema: z.ZodType, path: string[] = []): EnvField[] {
  const variable = envVars.get(schema);
  const kind = unwrap(schema);
  const nested =
    kind instanceof z.ZodObject
      ? Object.entries(kind.shape as Record<string, z.ZodType>).flatMap(
          ([key, field]) => envFields(field, [...path, key]),
        )
      : [];
  if (!variable) return nested;
  const codec =
    variable.codec ??
    kindCodecs.get(kind) ??
    (kind instanceof z.ZodEnum
      ? oneOf(kind.options as string[])
      : kind instanceof z.ZodArray
        ? list
        : text);
  return [{ path: path.join('.'), option: schema, variable, codec }, ...nested];
}

/** The variable's text (or its alias's), trimmed unless verbatim; no text when unset or blank. */
export function rawValue(
  env: Env,
  { name, alias }: EnvVar,
  codec: EnvCodec,
): [string, string?] {
  for (const each of alias ? [name, alias] : [name]) {
    const value = codec.verbatim ? env[each] : env[each]?.trim();
    if (value !== undefined && (value !== '' || codec.verbatim))
      return [each, value];
  }
  return [name];
}

/** What {@link readEnv} made of the environment. */
export interface EnvReading {
  /** The options, nested as the schema nests them. */
  values: Record<string, unknown>;
  problems: string[];
  warnings: string[];
  /** The variable that was read for each option path. */
  variableOf: Map<string, string>;
  /** Option paths whose variable was refused: the schema's verdict on them is no news. */
  refused: Set<string>;
}

/**
 * Reads the variables of `fields` from `env`: one `VARIABLE: reason` problem for each text that
 * is not a value. An unset variable takes its fallback, else, where `withDefault` says so, the
 * option's default.
 */
export function readEnv(
  fields: EnvField[],
  env: Env,
  {
    production = false,
    withDefault = () => true,
  }: { production?: boolean; withDefault?: (path: string) => boolean } = {},
): EnvReading {
  const reading: EnvReading = {
    values: {},
    problems: [],
    warnings: [],
    variableOf: new Map(),
    refused: new Set(),
  };
  for (const { path, option, variable, codec } of fields) {
    const [name, raw] = rawValue(env, variable, codec);
    const refuse = (reason: string) => {
      reading.refused.add(path);
      reading.problems.push(`${name}: ${reason}`);
    };
    reading.variableOf.set(path, name);
    let value: unknown;
    if (raw !== undefined) {
      value = codec.parse(raw);
      const rule =
        typeof codec.rule === 'function'
          ? codec.rule(reading.values)
          : codec.rule;
      if (value === undefined)
        refuse(`${rule}, got "${redactCredentials(raw)}"`);
    } else if (variable.fallback) {
      value = variable.fallback({
        production,
        warn: (message) => reading.warnings.push(message),
        fail: refuse,
      });
    } else if (withDefault(path)) {
      value = option.safeParse(undefined).data;
    }
    if (value !== undefined) setPath(reading.values, path.split('.'), value);
  }
  return reading;
}

function setPath(
  target: Record<string, unknown>,
  [key, ...rest]: string[],
  value: unknown,
): void {
  if (rest.length === 0) target[key] = value;
  else setPath((target[key] ??= {}) as Record<string, unknown>, rest, value);
}

/** One row of the README's table of variables (markdown). */
export interface EnvDoc {
  variable: string;
  default: string;
  usedBy: string;
  meaning: string;
}

/** The README's row for the variable of `field`, used by `usedBy` unless it says otherwise. */
export function envDoc({ option, variable }: EnvField, usedBy: string): EnvDoc {
  const shown = () => {
    const quiet = { production: false, warn: () => {}, fail: () => {} };
    const value = variable.fallback
      ? variable.fallback(quiet)
      : option.safeParse(undefined).data;
    return value === undefined ? 'unset' : `\`${[value].flat().join(',')}\``;
  };
  return {
    variable: `\`${variable.name}\`${variable.alias ? ` (alias \`${variable.alias}\`)` : ''}`,
    default: variable.shownDefault ?? shown(),
    usedBy: variable.usedBy ?? usedBy,
    meaning: variable.meaning,
  };
}
