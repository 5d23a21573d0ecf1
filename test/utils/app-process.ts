import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './free-port.js';

/** The built app, as `npm run start:prod` runs it (`npm run test:e2e` builds it first). */
const MAIN = resolve('dist/main.js');

/** One instance of the demo app in a process of its own, as a deployment runs several. */
export interface AppProcess {
  name: string;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** What it printed (stdout and stderr), the last 200 kB. */
  output(): string;
  /** Whether the process is still running. */
  alive(): boolean;
  /** SIGTERM, then SIGKILL after 5 s; resolves with how it exited. */
  stop(): Promise<{ code: number | null; signal: string | null }>;
}

/** Starts `node dist/main.js` with `env` (on top of PATH) and waits until /health answers 200. */
export async function startAppProcess(
  name: string,
  env: Record<string, string>,
): Promise<AppProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    cwd: mkdtempSync(join(tmpdir(), `${name}-`)),
    env: { PATH: process.env.PATH ?? '', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  for (const stream of [child.stdout, child.stderr])
    stream.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-200_000);
    });
  const exited = new Promise<{ code: number | null; signal: string | null }>(
    (done) => child.once('exit', (code, signal) => done({ code, signal })),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  const app: AppProcess = {
    name,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    alive,
    stop: async () => {
      if (alive()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        const exit = await exited;
        clearTimeout(timer);
        return exit;
      }
      return exited;
    },
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && alive()) {
    const health = await fetch(`${app.url}/health`).catch(() => undefined);
    if (health?.ok) return app;
    await new Promise((done) => setTimeout(done, 100));
  }
  const exit = await app.stop();
  throw new Error(
    `${name} did not become healthy (exit ${JSON.stringify(exit)}): ${output}`,
  );
}
