/**
 * How the benchmark behaves as a browser: it keeps cookies, reads the form's CSRF token and
 * logs in through the real form, for the app and the baseline alike.
 */

/** Every request claims to have come through a TLS-terminating proxy, so Secure cookies flow. */
export const PROXY_HEADERS = { 'x-forwarded-proto': 'https' };

/** name -> value of every Set-Cookie in `headers` (fetch Headers or autocannon's plain object). */
export function setCookiesOf(headers) {
  let lines;
  if (typeof headers.getSetCookie === 'function') {
    lines = headers.getSetCookie();
  } else {
    const key = Object.keys(headers).find((name) => name.toLowerCase() === 'set-cookie');
    lines = key === undefined ? [] : [headers[key]].flat();
  }
  const cookies = {};
  for (const line of lines) {
    const pair = line.split(';')[0];
    const index = pair.indexOf('=');
    const expired = /expires=thu, 01 jan 1970/i.test(line);
    cookies[pair.slice(0, index)] = expired ? undefined : pair.slice(index + 1);
  }
  return cookies;
}

/** Applies Set-Cookie lines to a jar (a plain object), deleting expired cookies. */
export function remember(jar, headers) {
  for (const [name, value] of Object.entries(setCookiesOf(headers))) {
    if (value === undefined) delete jar[name];
    else jar[name] = value;
  }
  return jar;
}

export const cookieHeader = (jar) =>
  Object.entries(jar)
    .map(([name, value]) => `${name}=${value}`)
    .join('; ');

/** The CSRF token of the login form (empty for the baseline, which has none). */
export function formToken(html) {
  return /name="_csrf" value="([^"]*)"/.exec(html)?.[1] ?? '';
}

/** The user name the login page greets (empty for an anonymous visitor, undefined on another page). */
export function greetedName(html) {
  return /<h3>欢迎:([^<]*)<\/h3>/.exec(html)?.[1];
}

/** An anonymous visitor who has loaded the login form: its cookies and token. */
export async function anonymousVisitor(baseUrl) {
  const jar = {};
  const res = await fetch(`${baseUrl}/login/`, { headers: PROXY_HEADERS });
  remember(jar, res.headers);
  return { jar, token: formToken(await res.text()) };
}

/** A visitor logged in through the form; throws when the login does not redirect. */
export async function loggedInVisitor(baseUrl, username = 'bench') {
  const visitor = await anonymousVisitor(baseUrl);
  const res = await fetch(`${baseUrl}/login/`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      ...PROXY_HEADERS,
      'content-type': 'application/x-www-form-urlencoded',
      cookie: cookieHeader(visitor.jar),
    },
    body: new URLSearchParams({ username, _csrf: visitor.token }).toString(),
  });
  if (res.status !== 302) throw new Error(`login at ${baseUrl} answered ${res.status}`);
  remember(visitor.jar, res.headers);
  if (!visitor.jar.session) throw new Error(`login at ${baseUrl} set no session cookie`);
  return visitor;
}

/**
 * autocannon requests for "POST /login/ as a logged-in user": each connection keeps its own
 * cookies, and takes its next token from the CSRF cookie the app re-issues at login (the token
 * equals the cookie in a double-submit scheme). autocannon resets a connection's context after
 * the last request of the list, so the list is long: one request in `loop` logs in from the
 * anonymous start (the initial context), all others as a logged-in user.
 */
export function postLoginRequests(start, loop = 1000) {
  const request = {
    method: 'POST',
    path: '/login/',
    setupRequest: (req, context) => ({
      ...req,
      headers: {
        ...PROXY_HEADERS,
        'content-type': 'application/x-www-form-urlencoded',
        cookie: cookieHeader(context.jar),
      },
      body: `username=bench&_csrf=${encodeURIComponent(context.token)}`,
    }),
    onResponse: (_status, _body, context, headers) => {
      remember(context.jar, headers);
      context.token = context.jar['__Host-csrf'] ?? context.jar.csrf ?? context.token;
    },
  };
  return {
    requests: Array.from({ length: loop }, () => request),
    initialContext: { jar: { ...start.jar }, token: start.token },
  };
}
