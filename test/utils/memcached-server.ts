import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { freePort } from './free-port.js';

/**
 * A private memcached on a free port (TCP only, 64 MB, default 1 MB item limit), for tests that
 * stall or kill their store; any shared memcached on 11211 is never touched. Memcached keeps
 * nothing on disk, so a killed server comes back empty.
 */
export class MemcachedServerProcess {
  private process?: ChildProcess;

  private constructor(readonly port: number) {}

  static async start(): Promise<MemcachedServerProcess> {
    const server = new MemcachedServerProcess(await freePort());
    await server.launch();
    return server;
  }

  /** `host:port`, as the memcached store's `servers` option takes it. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return this.address;
  }

  /**
   * Freezes the server: connections are accepted but nothing answers (a stalled store).
   * Resolves once it has stopped: a signal lands a moment after kill() returns, and a request
   * sent in between would still be answered.
   */
  async pause(): Promise<void> {
    const pid = this.process?.pid;
    if (!pid) return;
    process.kill(pid, 'SIGSTOP');
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && !(await isStopped(pid)))
      await new Promise((resolve) => setTimeout(resolve, 5));
  }

  resume(): void {
    this.process?.kill('SIGCONT');
  }

  /** Kills the server outright: connections are refused. */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
    this.process = undefined;
  }

  /** Starts the server again on the same port, empty. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.kill();
  }

  private async launch(): Promise<void> {
    const args = [
      '-p',
      String(this.port),
      '-l',
      '127.0.0.1',
      '-U',
      '0',
      '-m',
      '64',
    ];
    // memcached refuses to run as root unless told which user to run as.
    if (process.getuid?.() === 0) args.push('-u', 'root');
    const child = spawn('memcached', args, { stdio: 'ignore' });
    this.process = child;
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) =>
        reject(
          new Error(
            `cannot start memcached (install the Debian package memcached): ${err.message}`,
          ),
        ),
      );
    });
    await waitForVersion(this.port, child);
  }
}

/** Linux only: elsewhere there is no /proc, and the caller's 2 s deadline is the wait. */
async function isStopped(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name, which may itself hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
  } catch {
    return false;
  }
}

async function waitForVersion(
  port: number,
  child: ChildProcess,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(
        `memcached on port ${port} exited with code ${child.exitCode}`,
      );
    if (await answersVersion(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `memcached on port ${port} did not answer "version" within ${timeoutMs} ms`,
  );
}

function answersVersion(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('version\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('VERSION'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
