import { z } from 'zod';
import { redactCredentials } from './checks.js';
import { kindCodecs, list, oneOf, text, type EnvCodec } from './env-codecs.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** What a fallback may do while the variables are read. */
export interface EnvContext {
  production: boolean;
  /** Every variable, for a fallback that depends on another (a default only when it is unset). */
  env: Env;
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
        env,
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
    const quiet = {
      production: false,
      env: {},
      warn: () => {},
      fail: () => {},
    };
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
