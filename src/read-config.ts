import { InvalidConfigError } from 'nest-server-session';

/**
 * Runs `read` (a config reader) and returns what it read; a bad setting stops the process with
 * exit code 1 and one `VARIABLE: reason` line per problem, not a stack trace.
 */
export function readConfigOrExit<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof InvalidConfigError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
}
