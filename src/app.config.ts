import { isIP } from 'node:net';
import { COOKIE_ROUTES } from './cookie/cookie.routes.js';
import {
  InvalidConfigError,
  sessionOptionsFromEnv,
  type Env,
  type SessionModuleOptions,
} from 'nest-server-session';

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
  const trustProxy = parseTrustProxy(env.TRUST_PROXY, problems);
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
  // Express treats a hop count of 0 like false: no proxy is trusted.
  if (session.cookie?.secure && (trustProxy === false || trustProxy === 0)) {
    warnings.push(
      'Session cookies are Secure but TRUST_PROXY is unset: behind a TLS-terminating proxy, set TRUST_PROXY or browsers get no session cookie',
    );
  }
  return {
    port,
    trustProxy,
    production: env.NODE_ENV === 'production',
    // Routes that never use the session skip it: health checks must answer while the store is
    // down, and the cookie demo only deals in browser cookies.
    session: {
      ...session,
      excludeRoutes: ['health', ...Object.values(COOKIE_ROUTES)],
    },
    warnings,
  };
}

/** Express's named address ranges for `trust proxy`. */
const PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * `true`/`false`, a hop count, or a comma-separated list of addresses, CIDR ranges and
 * Express's range names. Checked here, because Express would only throw at start-up.
 */
function parseTrustProxy(
  raw: string | undefined,
  problems: string[],
): boolean | number | string {
  const value = raw?.trim() ?? '';
  const lower = value.toLowerCase();
  if (value === '' || lower === 'false') return false;
  if (lower === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  const entries = value.split(',').map((entry) => entry.trim());
  const bad = entries.filter(
    (entry) => !PROXY_RANGES.includes(entry) && !isAddressOrRange(entry),
  );
  if (bad.length > 0) {
    problems.push(
      `TRUST_PROXY: must be true, false, a hop count, or addresses/CIDR ranges/${PROXY_RANGES.join('/')}, got "${bad.join(', ')}"`,
    );
    return false;
  }
  return entries.join(',');
}

function isAddressOrRange(entry: string): boolean {
  const [address, bits, extra] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d+$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128);
}
