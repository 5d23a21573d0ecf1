import {
  InvalidConfigError,
  sessionOptionsFromEnv,
  type Env,
  type SessionModuleOptions,
} from './session/index.js';

/** Everything the app takes from its environment, read once at boot. */
export interface AppConfig {
  /** PORT: where to listen, on all interfaces. */
  port: number;
  /** TRUST_PROXY: Express's `trust proxy` (hops, `true`, or addresses); unset = off. */
  trustProxy: boolean | number | string;
  /** NODE_ENV=production: Secure cookies and a required secret by default. */
  production: boolean;
  session: SessionModuleOptions;
  /** Non-fatal problems to log at start. */
  warnings: string[];
}

export const APP_CONFIG = Symbol('APP_CONFIG');

/**
 * The app's one reader of environment variables. Collects every problem, one line per
 * variable, and throws them together as an {@link InvalidConfigError}.
 */
export function appConfigFromEnv(env: Env): AppConfig {
  const problems: string[] = [];
  const rawPort = env.PORT?.trim() || '3000';
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65535) {
    problems.push(`PORT: must be an integer from 0 to 65535, got "${rawPort}"`);
  }
  let session: SessionModuleOptions | undefined;
  let warnings: string[] = [];
  try {
    ({ options: session, warnings } = sessionOptionsFromEnv(env));
  } catch (err) {
    if (!(err instanceof InvalidConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length > 0 || !session) {
    throw new InvalidConfigError(problems, 'Invalid configuration');
  }
  const trustProxy = parseTrustProxy(env.TRUST_PROXY);
  if (session.cookie?.secure && trustProxy === false) {
    warnings.push(
      'Session cookies are Secure but TRUST_PROXY is unset: behind a TLS-terminating proxy, set TRUST_PROXY or browsers get no session cookie',
    );
  }
  return {
    port,
    trustProxy,
    production: env.NODE_ENV === 'production',
    session: { ...session, excludeRoutes: ['health'] },
    warnings,
  };
}

function parseTrustProxy(raw: string | undefined): boolean | number | string {
  const value = raw?.trim() ?? '';
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}
