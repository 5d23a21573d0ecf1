import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '../common/store.fixtures.js';

/** A child node running file-store.child.fixtures.ts. */
export interface StoreChild {
  child: ChildProcess;
  exited: Promise<unknown>;
  exitCode(): number | null;
  /** Resolves once the child has printed `line`; rejects if it exits first. */
  said(line: string): Promise<void>;
}

/**
 * Runs file-store.child.fixtures.ts in child nodes, through ts-node (no build needed), to race
 * the store across processes on one folder; `killAll` (for afterEach) ends those still running.
 */
export function storeChildren() {
  const children: ChildProcess[] = [];
  const here = dirname(fileURLToPath(import.meta.url));
  return {
    run(...args: string[]): StoreChild {
      const child = spawn(
        process.execPath,
        [
          '--no-warnings',
          '--import',
          'data:text/javascript,import { register } from "node:module"; import { pathToFileURL } from "node:url"; register("ts-node/esm", pathToFileURL("./"));',
          join(here, 'file-store.child.fixtures.ts'),
          ...args,
        ],
        {
          cwd: join(here, '../../..'),
          env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      children.push(child);
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
      return {
        child,
        exited: new Promise((resolve) => child.once('exit', resolve)),
        exitCode: () => child.exitCode,
        said: async (line: string) => {
          while (!output.includes(line)) {
            if (child.exitCode !== null) throw new Error('child exited');
            await sleep(20);
          }
        },
      };
    },
    killAll(): Promise<unknown> {
      return Promise.all(
        children.splice(0).map((child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGKILL');
          return exited;
        }),
      );
    },
  };
}
