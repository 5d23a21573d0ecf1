import { isIP } from 'node:net';
import { z } from 'zod';
import { COOKIE_ROUTES } from './cookie/cookie.routes.js';
import {
  envFields,
  fromEnv,
  integerFromEnv,
  InvalidConfigError,
  readEnv,
  sessionOptionsFromEnv,
  type EnvCodec,
  type Env,
  type SessionModuleOptions,
} from 'nest-server-session';

/** Express's named address ranges for `trust proxy`. */
const PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * `true`/`false`, a hop count, or a comma-separated list of addresses, CIDR ranges and
 * Express's range names. Checked here, because Express would only throw at start-up.
 */
const trustProxyCodec: EnvCodec = {
  parse: (raw) => {
    const lower = raw.toLowerCase();
    if (lower === 'true' || lower === 'false') return lower === 'true';
    if (/^\d+$/.test(raw)) return Number(raw);
    const entries = raw.split(',').map((entry) => entry.trim());
    return entries.every(
      (entry) => PROXY_RANGES.includes(entry) || isAddressOrRange(entry),
    )
      ? entries.join(',')
      : undefined;
  },
  rule: `must be true, false, a hop count, or addresses/CIDR ranges/${PROXY_RANGES.join('/')}`,
};

function isAddressOrRange(entry: string): boolean {
  const [address, bits, extra] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d+$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128);
}

/** The demo app's own settings, each with its variable, as the session options declare theirs. */
export const appEnvironment = z.object({
  /** Where to listen, on all interfaces. */
  port: fromEnv(
    'PORT',
    z.number().default(3000),
    'port to listen on, all interfaces',
    { codec: integerFromEnv('must be an integer from 0 to 65535', 0, 65535) },
  ),
  /** Express's `trust proxy`: hops, `true`, or addresses; off when unset. */
  trustProxy: fromEnv(
    'TRUST_PROXY',
    z.union([z.boolean(), z.number(), z.string()]).default(false),
    "Express's `trust proxy`: `true`, a hop count, or addresses. Needed for Secure cookies behind a TLS-terminating proxy",
    { codec: trustProxyCodec, shownDefault: 'unset' },
  ),
});

/** Everything the app takes from its environment, read once at boot. */
export interface AppConfig extends z.output<typeof appEnvironment> {
  /** NODE_ENV=production: Secure cookies and a required secret by default. */
  production: boolean;
  session: SessionModuleOptions;
  /** Non-fatal problems to log at start. */
  warnings: string[];
}

export const APP_CONFIG = Symbol('APP_CONFIG');

/** Seconds after login that the demo ends a session, unless SESSION_ABSOLUTE_LIFETIME says. */
const DEMO_ABSOLUTE_LIFETIME = String(7 * 24 * 3600);

/**
 * The app's one reader of environment variables. Collects every problem, one line per
 * variable, and throws them together as an {@link InvalidConfigError}.
 */
export function appConfigFromEnv(env: Env): AppConfig {
  const app = readEnv(envFields(appEnvironment), env);
  const problems = [...app.problems];
  let session: SessionModuleOptions | undefined;
  let warnings: string[] = [];
  try {
    ({ options: session, warnings } = sessionOptionsFromEnv({
      // The demo ends every session a week after login, however active: OWASP's absolute
      // timeout, off by default in the library.
      SESSION_ABSOLUTE_LIFETIME: DEMO_ABSOLUTE_LIFETIME,
      ...env,
    }));
  } catch (err) {
    if (!(err instanceof InvalidConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length > 0 || !session) {
    throw new InvalidConfigError(problems, 'Invalid configuration');
  }
  const { port, trustProxy } = appEnvironment.parse(app.values);
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
