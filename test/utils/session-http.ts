import { expect } from '@jest/globals';
import type { Agent as TestAgent, Response } from 'supertest';

/** The hidden `_csrf` value of the form on `path`. */
export async function csrfTokenFrom(
  agent: TestAgent,
  path = '/login/',
): Promise<string> {
  const res = await agent.get(path).expect(200);
  const match = /name="_csrf" value="([^"]+)"/.exec(res.text);
  expect(match).not.toBeNull();
  return match![1];
}

/** Logs the agent in through the real form; returns the answer to the POST. */
export async function logIn(
  agent: TestAgent,
  username: string,
): Promise<Response> {
  const token = await csrfTokenFrom(agent);
  return agent
    .post('/login/')
    .type('form')
    .send({ username, _csrf: token })
    .expect(302);
}

export function setCookies(res: Response): string[] {
  const header = res.headers['set-cookie'] as unknown;
  if (header === undefined) return [];
  return Array.isArray(header) ? (header as string[]) : [String(header)];
}

/** The Set-Cookie line for cookie `name`, if the answer has one. */
export function setCookie(res: Response, name: string): string | undefined {
  return setCookies(res).find((line) => line.startsWith(`${name}=`));
}

/** The session id carried by a signed `session=s:<sid>.<signature>` Set-Cookie line. */
export function sessionIdOf(
  res: Response,
  cookieName = 'session',
): string | undefined {
  const line = setCookie(res, cookieName);
  if (!line) return undefined;
  const value = decodeURIComponent(
    line.slice(cookieName.length + 1).split(';')[0],
  );
  return /^s:([^.]+)\./.exec(value)?.[1];
}

/** The `<h3>欢迎:…</h3>` greeting of the login page, raw HTML inside. */
export function greeting(html: string): string | undefined {
  return /<h3>欢迎:(.*?)<\/h3>/.exec(html)?.[1];
}
