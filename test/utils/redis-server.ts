import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { commonNodeArgs } from './redis-node.js';
import { ServerProcess } from './server-process.js';

/**
 * A private redis-server on a free port, for tests that stop, stall or restart their store.
 * The shared Redis on 6379 is never touched. Data goes to an append-only file synced on every
 * write, so a killed and restarted server still holds the sessions written before.
 */
export class RedisServerProcess extends ServerProcess {
  private dir = '';

  static async start(): Promise<RedisServerProcess> {
    const dir = await mkdtemp(join(tmpdir(), 'redis-test-'));
    const server = new RedisServerProcess(await freePort(), {
      command: 'redis-server',
      debianPackage: 'redis-server',
      args: (port) => [
        ...commonNodeArgs(port, dir),
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
      ],
      probe: { request: 'PING\r\n', answer: '+PONG' },
    });
    server.dir = dir;
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await super.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
