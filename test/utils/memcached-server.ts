import { freePort } from './free-port.js';
import { ServerProcess } from './server-process.js';

/**
 * A private memcached on a free port (TCP only, 64 MB, default 1 MB item limit), for tests that
 * stall or kill their store; any shared memcached on 11211 is never touched. Memcached keeps
 * nothing on disk, so a killed server comes back empty.
 */
export class MemcachedServerProcess extends ServerProcess {
  /** `extraArgs` are further memcached options (`-C`: no CAS values). */
  static async start(
    extraArgs: string[] = [],
  ): Promise<MemcachedServerProcess> {
    const server = new MemcachedServerProcess(await freePort(), {
      command: 'memcached',
      debianPackage: 'memcached',
      args: (port) => [
        '-p',
        String(port),
        '-l',
        '127.0.0.1',
        '-U',
        '0',
        '-m',
        '64',
        // memcached refuses to run as root unless told which user to run as.
        ...(process.getuid?.() === 0 ? ['-u', 'root'] : []),
        ...extraArgs,
      ],
      probe: { request: 'version\r\n', answer: 'VERSION' },
    });
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
}
