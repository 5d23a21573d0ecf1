import { z } from 'zod';
import { redactCredentials } from './checks.js';
import type { EnvCodec } from './env-codecs.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** What a fallback may say while the variables are read. */
export interface EnvContext {
  production: boolean;
  warn(message: string): void;
  /** The variable is missing and must not be. */
  fail(reason: string): void;
}

/**
 * The environment variable that sets an option, declared on the option's schema
 * (`.register(envVars, { ... })`): the environment mapping and the README's table of
 * variables are both made from these.
 */
export interface EnvVar {
  name: string;
  /** Read when `name` is unset (Flask-Session's name for the same setting). */
  alias?: string;
  codec: EnvCodec;
  /** The README's "meaning" column. */
  meaning: string;
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

/** An option that a variable sets: its dotted path (`cookie.name`), its schema, its variable. */
export interface EnvField {
  path: string;
  option: z.ZodType;
  variable: EnvVar;
}

/** The variables of `schema`'s options, nested ones included, in the order they are declared. */
export function envFields(schema: z.ZodType, path: string[] = []): EnvField[] {
  const variable = envVars.get(schema);
  let inner: z.ZodType = schema;
  while (
    inner instanceof z.ZodOptional ||
    inner instanceof z.ZodDefault ||
    inner instanceof z.ZodPrefault
  )
    inner = inner.unwrap() as z.ZodType;
  const nested =
    inner instanceof z.ZodObject
      ? Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(
          ([key, field]) => envFields(field, [...path, key]),
        )
      : [];
  return variable
    ? [{ path: path.join('.'), option: schema, variable }, ...nested]
    : nested;
}

/** The variable's text (or its alias's), trimmed unless verbatim; undefined when unset or blank. */
export function rawValue(env: Env, variable: EnvVar): [string, string?] {
  for (const name of [variable.name, variable.alias ?? []].flat()) {
    const value = variable.codec.verbatim ? env[name] : env[name]?.trim();
    if (value !== undefined && (value !== '' || variable.codec.verbatim))
      return [name, value];
  }
  return [variable.name];
}

/** What {@link readEnv} made of the environment. */
export interface EnvReading {
  /** The options, nested as the schema nests them. */
  values: Record<string, unknown>;
  problems: string[];
  warnings: string[];
  /** The variable that was read for each option path. */
  variableOf: Map<string, string>;
  /** Option paths whose variable was refused: the schema's verdict on them is not news. */
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
  for (const { path, option, variable } of fields) {
    const [name, raw] = rawValue(env, variable);
    const refuse = (reason: string) => {
      reading.refused.add(path);
      reading.problems.push(`${name}: ${reason}`);
    };
    reading.variableOf.set(path, name);
    let value: unknown;
    if (raw === undefined) {
      value = variable.fallback
        ? variable.fallback({
            production,
            warn: (message) => reading.warnings.push(message),
            fail: refuse,
          })
        : withDefault(path)
          ? option.safeParse(undefined).data
          : undefined;
    } else {
      value = variable.codec.parse(raw);
      const { rule } = variable.codec;
      if (value === undefined)
        refuse(
          `${typeof rule === 'function' ? rule(reading.values) : rule}, got "${redactCredentials(raw)}"`,
        );
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
  const quiet = { production: false, warn: () => {}, fail: () => {} };
  const value = variable.fallback
    ? variable.fallback(quiet)
    : option.safeParse(undefined).data;
  return {
    variable: `\`${variable.name}\`${variable.alias ? ` (alias \`${variable.alias}\`)` : ''}`,
    default:
      variable.shownDefault ??
      (value === undefined ? 'unset' : `\`${[value].flat().join(',')}\``),
    usedBy: variable.usedBy ?? usedBy,
    meaning: variable.meaning,
  };
}
