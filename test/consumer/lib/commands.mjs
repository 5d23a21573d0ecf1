import { spawn } from 'node:child_process';

/**
 * The environment for npm and the scratch apps: ours, less what `npm test` sets for the repository
 * (its local prefix, package and lifecycle variables), which would point a nested npm at the
 * repository instead of the scratch app.
 */
export function scratchEnv(extra = {}) {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (
      /^npm_(package|lifecycle)_|^npm_config_local_prefix$|^INIT_CWD$/i.test(
        name,
      )
    )
      continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

/**
 * Runs a command to its end and returns its exit and output; kills it (and says so) after
 * `timeoutMs`.
 */
export function run(
  command,
  args,
  { cwd, env = scratchEnv(), timeoutMs = 300_000 },
) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${describe(command, args, cwd)} still running after ${timeoutMs} ms\n${tail(stdout + stderr)}`,
        ),
      );
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(
        new Error(
          `${describe(command, args, cwd)} could not start: ${err.message}`,
        ),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout,
        stderr,
        what: describe(command, args, cwd),
      });
    });
  });
}

/** Runs a command that must succeed; its failure names it and shows the end of its output. */
export async function mustRun(command, args, options) {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${result.what} failed (exit ${result.code ?? result.signal}):\n${tail(result.stdout + result.stderr)}`,
    );
  }
  return result;
}

export function describe(command, args, cwd) {
  return `\`${[command, ...args].join(' ')}\` in ${cwd}`;
}

/** The last `lines` lines of `text`, enough to see why a command failed. */
export function tail(text, lines = 60) {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
