import { spawn } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { scratchEnv, tail } from './commands.mjs';

/**
 * A scratch app started with `node dist/main.js`. Its main.ts listens on PORT (0 here: a free
 * port the system picks, so no two runs collide) and prints `Listening on <url>`.
 */
export class AppProcess {
  stdout = '';
  stderr = '';

  constructor(cwd, env) {
    this.child = spawn(process.execPath, ['dist/main.js'], {
      cwd,
      env: scratchEnv({ PORT: '0', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout.on('data', (chunk) => (this.stdout += chunk));
    this.child.stderr.on('data', (chunk) => (this.stderr += chunk));
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code, signal) => resolve({ code, signal })),
    );
  }

  /** Both streams without Nest's colours, to show or match. */
  output() {
    return stripVTControlCharacters(`${this.stdout}${this.stderr}`);
  }

  /** The URL the app listens on, once it says so; fails if it exits or is silent for `timeoutMs`. */
  async url(timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    let exit;
    void this.exited.then((result) => (exit = result));
    while (Date.now() < deadline) {
      const listening = /Listening on (http:\/\/\S+)/.exec(this.stdout);
      if (listening) return listening[1];
      if (exit) {
        throw new Error(
          `the app exited (${exit.code ?? exit.signal}) before listening:\n${tail(this.output())}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    this.child.kill('SIGKILL');
    throw new Error(
      `the app did not listen within ${timeoutMs} ms:\n${tail(this.output())}`,
    );
  }

  /** Waits for the app to exit by itself; kills it after `timeoutMs` and says so. */
  async exit(timeoutMs = 30_000) {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    if (result.signal === 'SIGKILL') {
      throw new Error(
        `the app was still running after ${timeoutMs} ms:\n${tail(this.output())}`,
      );
    }
    return result;
  }

  /** Asks the app to shut down, as a process manager does, and waits for it. */
  stop(timeoutMs = 15_000) {
    this.child.kill('SIGTERM');
    return this.exit(timeoutMs);
  }

  /** For cleanup after a failed test: never leave an app running. */
  kill() {
    if (this.child.exitCode === null && this.child.signalCode === null)
      this.child.kill('SIGKILL');
  }
}
