import { z } from 'zod';
import { commonOptions } from './common.options.js';
import {
  envDoc,
  envFields,
  fromEnv,
  rawValue,
  readEnv,
  type Env,
  type EnvDoc,
  type EnvField,
} from './env-vars.js';
import { InvalidConfigError } from './invalid-config.error.js';
import {
  parseSessionOptions,
  SESSION_TYPES,
  STORE_OPTIONS,
  type SessionModuleOptions,
  type SessionType,
} from './session.options.js';

export type { Env };

/** Flask-Session's names for the same stores. */
const TYPE_ALIASES: Record<string, SessionType> = {
  sqlalchemy: 'sql',
  cachelib: 'filesystem',
};

/** What the environment says before any option: production or not, and which store. */
const ENVIRONMENT = envFields(
  z.object({
    production: fromEnv(
      'NODE_ENV',
      z.boolean(),
      '`production`: a secret is required and cookies are Secure by default',
      {
        codec: { parse: (raw) => raw === 'production', rule: '' },
        fallback: () => false,
        shownDefault: 'unset',
      },
    ),
    type: fromEnv(
      'SESSION_TYPE',
      z.string(),
      `${SESSION_TYPES.map((type) => `\`${type}\``).join(', ')}; Flask-Session's \`sqlalchemy\` and \`cachelib\` are aliases of \`sql\` and \`filesystem\``,
      {
        codec: {
          parse: (raw) =>
            TYPE_ALIASES[raw.toLowerCase()] ??
            SESSION_TYPES.find((type) => type === raw.toLowerCase()),
          rule: `must be one of ${[...SESSION_TYPES, ...Object.keys(TYPE_ALIASES)].join(', ')}`,
        },
        fallback: () => 'sql',
        shownDefault: '`sql` (SQLite)',
      },
    ),
  }),
);
const COMMON = envFields(commonOptions);
const COMMON_PATHS = new Set(COMMON.map((field) => field.path));

export interface SessionEnvResult {
  options: SessionModuleOptions;
  /** Things that work but should not reach production, e.g. a generated secret. */
  warnings: string[];
}

/**
 * Maps environment variables onto {@link SessionModuleOptions}, as declared beside each option
 * in its schema, and checks them by that schema: every problem is one `VARIABLE: reason` line,
 * all thrown together. The common options come with their defaults; the store's own are left to
 * its schema unless set. Reads `env` when called, never at import.
 */
export function sessionOptionsFromEnv(env: Env): SessionEnvResult {
  const head = readEnv(ENVIRONMENT, env);
  const type = head.values.type as SessionType | undefined;
  // The store's own settings are only read, and checked, for a type that exists.
  const store = STORE_OPTIONS.find((s) => s.shape.type.value === type);
  const fields = store ? envFields(store) : COMMON;
  const body = readEnv(fields, env, {
    production: head.values.production === true,
    withDefault: (path) => COMMON_PATHS.has(path),
  });
  const options = { type, ...body.values };
  const problems = [...head.problems, ...body.problems];
  for (const { path, message, env: reason } of parseSessionOptions(options)
    .issues ?? [])
    if (path !== 'type' && !body.refused.has(path))
      problems.push(
        `${body.variableOf.get(path) ?? path}: ${reason ?? message}`,
      );
  if (problems.length > 0) throw new InvalidConfigError(problems);
  return {
    options: options as SessionModuleOptions,
    warnings: [...body.warnings, ...ignoredVariables(env, fields, type)],
  };
}

/** Warnings for the variables set for an option the store lacks, where the option asks for one. */
function ignoredVariables(env: Env, taken: EnvField[], type?: string) {
  const names = new Set(taken.map(({ variable }) => variable.name));
  const ignored = STORE_OPTIONS.flatMap((s) => envFields(s)).filter(
    ({ variable, codec }) =>
      type &&
      variable.ignoredBecause &&
      !names.has(variable.name) &&
      rawValue(env, variable, codec)[1] !== undefined,
  );
  return [
    ...new Set(
      ignored.map(
        ({ variable }) =>
          `${variable.name} has no effect with SESSION_TYPE=${type}, ${variable.ignoredBecause}`,
      ),
    ),
  ];
}

/** The README's rows: NODE_ENV and SESSION_TYPE, the common options, then each store's own. */
export function sessionEnvDocs(): EnvDoc[] {
  const stores = new Map<string, { field: EnvField; types: string[] }>();
  for (const store of STORE_OPTIONS)
    for (const field of envFields(store)) {
      if (COMMON_PATHS.has(field.path)) continue;
      const entry = stores.get(field.variable.name) ?? { field, types: [] };
      entry.types.push(store.shape.type.value);
      stores.set(field.variable.name, entry);
    }
  return [
    ...[...ENVIRONMENT, ...COMMON].map((field) => envDoc(field, 'all')),
    ...[...stores.values()].map(({ field, types }) =>
      envDoc(field, types.join(', ')),
    ),
  ];
}
