/** Longest accepted user name, in characters. */
export const MAX_USERNAME_LENGTH = 64;

export type LoginFormResult = { username: string } | { error: string };

/** Reads and checks the posted login form; the name is trimmed of surrounding space. */
export function parseLoginForm(body: unknown): LoginFormResult {
  const raw = (body as Record<string, unknown> | undefined)?.username;
  if (raw === undefined) return { error: 'Enter a user name.' };
  if (typeof raw !== 'string')
    return { error: 'The user name must be a single text value.' };
  const username = raw.trim();
  if (username === '') return { error: 'Enter a user name.' };
  if ([...username].length > MAX_USERNAME_LENGTH) {
    return {
      error: `The user name can be at most ${MAX_USERNAME_LENGTH} characters.`,
    };
  }
  return { username };
}
