import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createConnection } from 'node:net';

/** How to run one kind of server and how to tell that it answers. */
export interface ServerSpec {
  /** Executable, and the Debian package that provides it (for the error message). */
  command: string;
  debianPackage: string;
  args(port: number): string[];
  /** A one-line request in the server's text protocol, and how its answer starts. */
  probe: { request: string; answer: string };
}

/**
 * A private server process on `port`, for tests that stall, kill or restart their store; the
 * machine's shared servers are never touched. Subclasses say what to run ({@link ServerSpec}).
 */
export class ServerProcess {
  private child?: ChildProcess;

  protected constructor(
    readonly port: number,
    private readonly spec: ServerSpec,
  ) {}

  /** Whether the server process is alive (a paused one is). */
  get running(): boolean {
    const child = this.child;
    return !!child && child.exitCode === null && child.signalCode === null;
  }

  /**
   * Freezes the server: connections stay open but nothing answers (a stalled store). Resolves
   * once it has stopped: a signal lands a moment after kill() returns, and a request sent in
   * between would still be answered.
   */
  async pause(): Promise<void> {
    const pid = this.child?.pid;
    if (!pid) return;
    process.kill(pid, 'SIGSTOP');
    const deadline = Date.now() + 2000;
    while (Date.now() < deadline && !(await isStopped(pid)))
      await new Promise((resolve) => setTimeout(resolve, 5));
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Kills the server outright: connections are refused. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  /** Starts the server again on the same port. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.kill();
  }

  protected async launch(): Promise<void> {
    const { command, debianPackage } = this.spec;
    const child = spawn(command, this.spec.args(this.port), {
      stdio: 'ignore',
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) =>
        reject(
          new Error(
            `cannot start ${command} (install the Debian package ${debianPackage}): ${err.message}`,
          ),
        ),
      );
    });
    await this.waitUntilAnswering(child);
  }

  private async waitUntilAnswering(
    child: ChildProcess,
    timeoutMs = 10_000,
  ): Promise<void> {
    const { command, probe } = this.spec;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null)
        throw new Error(
          `${command} on port ${this.port} exited with code ${child.exitCode}`,
        );
      if (await answers(this.port, probe)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(
      `${command} on port ${this.port} did not answer ${JSON.stringify(probe.request.trim())} within ${timeoutMs} ms`,
    );
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

function answers(port: number, probe: ServerSpec['probe']): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.setTimeout(500);
    socket.once('connect', () => socket.write(probe.request));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith(probe.answer));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
