import { z } from 'zod';
import { commonOptions } from './common.options.js';
import {
  envDoc,
  envFields,
  envVars,
  rawValue,
  readEnv,
  type Env,
  type EnvDoc,
  type EnvField,
} from './env-var.js';
import { InvalidConfigError } from './invalid-config.error.js';
import {
  parseSessionOptions,
  SESSION_TYPES,
  STORE_OPTIONS,
  type SessionModuleOptions,
  type SessionType,
} from './session.options.js';

/** Flask-Session's names for the same stores. */
const TYPE_ALIASES: Record<string, SessionType> = {
  sqlalchemy: 'sql',
  cachelib: 'filesystem',
};

/** What the environment says before any option: production or not, and which store. */
const environment = z.object({
  production: z.boolean().register(envVars, {
    name: 'NODE_ENV',
    codec: { parse: (raw) => raw === 'production', rule: '' },
    fallback: () => false,
    shownDefault: 'unset',
    meaning:
      '`production`: a secret is required and cookies are Secure by default',
  }),
  type: z.string().register(envVars, {
    name: 'SESSION_TYPE',
    codec: {
      parse: (raw) =>
        TYPE_ALIASES[raw.toLowerCase()] ??
        SESSION_TYPES.find((type) => type === raw.toLowerCase()),
      rule: `must be one of ${[...SESSION_TYPES, ...Object.keys(TYPE_ALIASES)].join(', ')}`,
    },
    fallback: () => 'sql',
    shownDefault: '`sql` (SQLite)',
    meaning: `${SESSION_TYPES.map((type) => `\`${type}\``).join(', ')}; Flask-Session's \`sqlalchemy\` and \`cachelib\` are aliases of \`sql\` and \`filesystem\``,
  }),
});

const COMMON_FIELDS = envFields(commonOptions);
const COMMON_PATHS = new Set(COMMON_FIELDS.map((field) => field.path));

export type { Env };

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
  const head = readEnv(envFields(environment), env);
  const type = head.values.type as SessionType | undefined;
  // The store's own settings are only read, and checked, for a type that exists.
  const store = STORE_OPTIONS.find((s) => s.shape.type.value === type);
  const fields = envFields(store ?? commonOptions);
  const body = readEnv(fields, env, {
    production: head.values.production === true,
    withDefault: (path) => COMMON_PATHS.has(path),
  });
  const options = { type, ...body.values };
  const issues = parseSessionOptions(options).issues ?? [];
  const problems = [
    ...head.problems,
    ...body.problems,
    ...issues
      .filter(({ path }) => path !== 'type' && !body.refused.has(path))
      .map(
        ({ path, message, env: reason }) =>
          `${body.variableOf.get(path) ?? path}: ${reason ?? message}`,
      ),
  ];
  if (problems.length > 0) throw new InvalidConfigError(problems);
  const warnings = type
    ? [...body.warnings, ...ignoredVariables(env, fields, type)]
    : body.warnings;
  return { options: options as SessionModuleOptions, warnings };
}

/** Warnings for the variables set for an option `type` lacks, where the option asks for one. */
function ignoredVariables(env: Env, taken: EnvField[], type: string): string[] {
  const names = new Set(taken.map(({ variable }) => variable.name));
  const ignored = new Set(
    STORE_OPTIONS.flatMap((s) => envFields(s))
      .map(({ variable }) => variable)
      .filter(
        (variable) =>
          variable.ignoredBecause !== undefined &&
          !names.has(variable.name) &&
          rawValue(env, variable)[1] !== undefined,
      )
      .map(
        ({ name, ignoredBecause }) =>
          `${name} has no effect with SESSION_TYPE=${type}, ${ignoredBecause}`,
      ),
  );
  return [...ignored];
}

/** The README's rows: NODE_ENV and SESSION_TYPE, the common options, then each store's own. */
export function sessionEnvDocs(): EnvDoc[] {
  const stores = new Map<string, { field: EnvField; types: string[] }>();
  for (const store of STORE_OPTIONS)
    for (const field of envFields(store).filter(
      (f) => !COMMON_PATHS.has(f.path),
    )) {
      const entry = stores.get(field.variable.name) ?? { field, types: [] };
      entry.types.push(store.shape.type.value);
      stores.set(field.variable.name, entry);
    }
  return [
    ...[...envFields(environment), ...COMMON_FIELDS].map((f) =>
      envDoc(f, 'all'),
    ),
    ...[...stores.values()].map(({ field, types }) =>
      envDoc(field, types.join(', ')),
    ),
  ];
}
