/** One answer as a visitor saw it: status (0: no answer), time taken, the greeting shown. */
export interface Answer {
  status: number;
  /** From sending the request to the end of the body. */
  ms: number;
  /** Whom the login page greets (empty: nobody); on other pages undefined. */
  greeting?: string;
  text: string;
}

/**
 * A browser over real HTTP, for app instances running in processes of their own: it keeps its
 * cookies by hand (a cookie from one instance works on another that shares the secret), reads
 * the forms' CSRF tokens and logs in and out through them. Never waits past `timeoutMs`.
 */
export class HttpVisitor {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly timeoutMs = 10_000) {}

  /** The session id its session cookie carries. */
  get sessionId(): string | undefined {
    const value = this.cookies.get('session');
    return value && /^s:([^.]+)\./.exec(decodeURIComponent(value))?.[1];
  }

  /** GET /login/ on `base`: whom it greets. */
  view(base: string): Promise<Answer> {
    return this.send(`${base}/login/`);
  }

  /** Loads the login form on `base` and posts `username`: the POST's answer (302 when in). */
  async logIn(base: string, username: string): Promise<Answer> {
    const form = await this.view(base);
    const token = csrfToken(form.text);
    if (form.status !== 200 || !token) return form;
    return this.post(`${base}/login/`, { username, _csrf: token });
  }

  /** Logs out on `base` through the form's token: the POST's answer (302 when out). */
  async logOut(base: string): Promise<Answer> {
    const page = await this.view(base);
    const token = csrfToken(page.text);
    if (page.status !== 200 || !token) return page;
    return this.post(`${base}/logout/`, { _csrf: token });
  }

  private post(url: string, fields: Record<string, string>): Promise<Answer> {
    return this.send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }

  private async send(url: string, init: RequestInit = {}): Promise<Answer> {
    const started = Date.now();
    try {
      const res = await fetch(url, {
        ...init,
        redirect: 'manual',
        headers: { ...init.headers, cookie: this.cookieHeader() },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.text();
      this.keep(res);
      return {
        status: res.status,
        ms: Date.now() - started,
        greeting: /<h3>欢迎:(.*?)<\/h3>/.exec(text)?.[1],
        text,
      };
    } catch {
      return { status: 0, ms: Date.now() - started, text: '' };
    }
  }

  private keep(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      const [name, value] = [pair.slice(0, at), pair.slice(at + 1)];
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line))
        this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  private cookieHeader(): string {
    return [...this.cookies]
      .map(([name, value]) => `${name}=${value}`)
      .join('; ');
  }
}

const csrfToken = (html: string) =>
  /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
