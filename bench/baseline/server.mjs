/**
 * The benchmark's baseline: the same demo written by hand on bare Express 5, express-session,
 * connect-redis 8, ioredis and hbs, with the same routes and templates and no Nest. It does what
 * a typical hand-written app does: no CSRF tokens, no security headers, no input checks beyond
 * the minimum, plain express-session touching the store on every request.
 *
 * Environment: PORT, REDIS_URL, SESSION_SECRET, SESSION_KEY_PREFIX (as the app).
 */
import { fileURLToPath } from 'node:url';
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import hbs from 'hbs';
import { Redis } from 'ioredis';

const viewsDir = fileURLToPath(new URL('../../views', import.meta.url));
const publicDir = fileURLToPath(new URL('../../public', import.meta.url));
const LIFETIME_SECONDS = 2_678_400;

const app = express();
app.set('trust proxy', 1);
app.set('views', viewsDir);
app.set('view engine', 'hbs');
app.set('view options', { layout: 'layouts/main' });
hbs.registerHelper('eq', (a, b) => a === b);
hbs.registerPartials(`${viewsDir}/partials`);

const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
app.use('/static', express.static(publicDir));
app.use(express.urlencoded({ extended: false, limit: '100kb' }));
app.use(
  session({
    store: new RedisStore({ client, prefix: process.env.SESSION_KEY_PREFIX ?? 'session:' }),
    name: 'session',
    secret: process.env.SESSION_SECRET ?? 'baseline-secret',
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: process.env.NODE_ENV === 'production',
      maxAge: LIFETIME_SECONDS * 1000,
    },
  }),
);

/** @param {import('express').Request} req */
function loginPage(req) {
  const username = req.session.username;
  return { title: 'Login', username: username ?? '', loggedIn: username !== undefined, csrfToken: '', maxLength: 64 };
}

app.get('/login/', (req, res) => res.render('auth/login', loginPage(req)));

app.post('/login/', (req, res, next) => {
  const username = typeof req.body?.username === 'string' ? req.body.username.trim() : '';
  if (username === '' || username.length > 64) {
    res.status(400).render('auth/login', { ...loginPage(req), error: 'Enter a user name.' });
    return;
  }
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.username = username;
    req.session.save((saveErr) => (saveErr ? next(saveErr) : res.redirect(302, '/login/')));
  });
});

app.post('/logout/', (req, res, next) => {
  req.session.destroy((err) => {
    if (err) return next(err);
    res.clearCookie('session');
    res.redirect(302, '/login/');
  });
});

app.get('/setcookie/', (req, res) => {
  const key = typeof req.query.key === 'string' ? req.query.key : 'name';
  const value = typeof req.query.value === 'string' ? req.query.value : 'cocoococo';
  const maxAge = typeof req.query.max_age === 'string' ? Number(req.query.max_age) : undefined;
  res.cookie(key, value, maxAge === undefined ? {} : { maxAge: maxAge * 1000 });
  res.render('cookie/index', { title: 'Set cookie', action: 'set', key, value, maxAge });
});

app.get('/getcookie/', (req, res) => {
  const key = typeof req.query.key === 'string' ? req.query.key : 'name';
  const value = parseCookies(req.headers.cookie)[key];
  res.render('cookie/index', { title: 'Get cookie', action: 'get', key, value, found: value !== undefined });
});

app.get('/delcookie/', (req, res) => {
  const key = typeof req.query.key === 'string' ? req.query.key : 'name';
  res.clearCookie(key);
  res.render('cookie/index', { title: 'Delete cookie', action: 'delete', key });
});

app.get('/health', (_req, res) => res.json({ status: 'ok' }));

/** @param {string | undefined} header */
function parseCookies(header) {
  /** @type {Record<string, string>} */
  const cookies = {};
  for (const part of (header ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index > 0) cookies[part.slice(0, index).trim()] = decodeURIComponent(part.slice(index + 1).trim());
  }
  return cookies;
}

const server = app.listen(Number(process.env.PORT ?? 3001), () => {
  console.log(`baseline listening on ${JSON.stringify(server.address())}`);
});
const shutdown = () => {
  client.disconnect();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
