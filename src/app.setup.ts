import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { NestApplicationOptions } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import cookieParser from 'cookie-parser';
import hbs from 'hbs';
import helmet from 'helmet';
import type { AppConfig } from './app.config.js';
import { HttpErrorFilter } from './common/http-error.filter.js';

/**
 * Options every creation of the app passes (main.ts and the e2e tests): setupApp registers the
 * body parsers with our limits, so Nest's default parsers would only parse a second time.
 */
export const APP_OPTIONS = {
  bodyParser: false,
} satisfies NestApplicationOptions;

/** Largest request body accepted; beyond it the answer is 413. */
export const BODY_LIMIT = '100kb';

/**
 * Largest request head (request line and headers) accepted; beyond it Node answers 431.
 * Twice Node's 16 KB default: the cookie demo keeps its cookies to a few KB now, but a visitor
 * who got more from an older version or another app on the site must still reach
 * `/delcookie/?all` to clear them, rather than meet a 431 on every page.
 */
export const MAX_REQUEST_HEAD_BYTES = 32 * 1024;

const viewsDir = fileURLToPath(new URL('../views', import.meta.url));
const publicDir = fileURLToPath(new URL('../public', import.meta.url));

/**
 * Everything the app needs besides its modules: views, security headers, parsers, the error
 * pages. main.ts and every e2e test call it, so tests run the app as it is deployed.
 */
export async function setupApp(
  app: NestExpressApplication,
  config: AppConfig,
): Promise<void> {
  const secure = config.session.cookie?.secure ?? false;
  // http.createServer's `maxHeaderSize` option, stored on the server, where Node reads it for
  // each new connection (Nest creates the server without options; @types/node omit the field).
  (app.getHttpServer() as Server & { maxHeaderSize?: number }).maxHeaderSize =
    MAX_REQUEST_HEAD_BYTES;
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  // Pages carry per-visitor CSRF tokens: a validator hash of each body buys no cache hits.
  app.set('etag', false);
  app.use(
    helmet({
      // Over plain HTTP (development) these would send the browser to an https:// that is not there.
      hsts: secure,
      contentSecurityPolicy: {
        directives: { upgradeInsecureRequests: secure ? [] : null },
      },
    }),
  );
  app.use(cookieParser());
  app.useBodyParser('urlencoded', { limit: BODY_LIMIT, extended: false });
  app.useBodyParser('json', { limit: BODY_LIMIT });
  app.useStaticAssets(publicDir, { prefix: '/static/' });
  app.setBaseViewsDir(viewsDir);
  app.setViewEngine('hbs');
  app.set('view options', { layout: 'layouts/main' });
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  await registerPartials(`${viewsDir}/partials`);
  app.useGlobalFilters(new HttpErrorFilter());
}

function registerPartials(dir: string): Promise<void> {
  return new Promise((resolve, reject) =>
    hbs.registerPartials(dir, (err?: unknown) =>
      err ? reject(err as Error) : resolve(),
    ),
  );
}
