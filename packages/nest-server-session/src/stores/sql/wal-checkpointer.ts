import { Logger } from '@nestjs/common';
import { Worker } from 'node:worker_threads';

/** How often the worker moves the WAL's pages into the database file. */
const CHECKPOINT_EVERY_MS = 500;
/** SQLite's own default, restored on the app's connections when the worker is gone. */
const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;
/** How long a stop waits for the last checkpoint before the thread is ended. */
const STOP_WAIT_MS = 5_000;

/**
 * Runs in the worker (CommonJS, from source: a worker needs a file or a string, and this
 * package ships no extra file for it). It opens the database on a connection of its own and
 * checkpoints it in PASSIVE mode, which never waits for, nor blocks, the app's readers and
 * writers.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.filename, { fileMustExist: true });
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
const checkpoint = () => db.pragma('wal_checkpoint(PASSIVE)');
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  try { checkpoint(); } finally { db.close(); parentPort.close(); }
});
parentPort.postMessage('ready');
`;

interface SqliteConnection {
  pragma(source: string): unknown;
  readonly open: boolean;
}

export interface WalCheckpointerOptions {
  /** The database file (never `:memory:`, which has no WAL). */
  filename: string;
  /** Where better-sqlite3 is installed (`require.resolve`), so the worker loads the same one. */
  driver: string;
  busyTimeoutMs: number;
}

/**
 * Checkpoints a SQLite database in WAL mode from a worker thread. better-sqlite3 is
 * synchronous: left to SQLite, the commit that fills the WAL past 1,000 pages runs the
 * checkpoint on the event loop, copying pages back into the database and waiting for two
 * fsyncs, and on a busy disk every request waits with it (333 ms was seen in CI). The app's
 * connections {@link adopt}ed here stop checkpointing once the worker is ready; if the worker
 * fails, they get SQLite's automatic checkpoints back, so the WAL never grows without bound.
 */
export class WalCheckpointer {
  private readonly logger = new Logger('SqlSessionStore');
  private readonly connections = new Set<SqliteConnection>();
  private worker?: Worker;
  private exited?: Promise<void>;
  private state: 'idle' | 'starting' | 'ready' | 'failed' | 'stopped' = 'idle';

  constructor(private readonly options: WalCheckpointerOptions) {}

  /** Whether the worker checkpoints now (the app's connections do not). */
  get active(): boolean {
    return this.state === 'ready';
  }

  /**
   * A new connection of the app's, already in WAL mode (so the file exists for the worker,
   * started with the first): it leaves checkpoints to the worker while there is one.
   */
  adopt(conn: SqliteConnection): void {
    this.connections.add(conn);
    if (this.state === 'idle') this.start();
    else if (this.state === 'ready') this.hand(conn);
  }

  /** Ends the worker after a last checkpoint (the app's last connection to close does one too). */
  async stop(): Promise<void> {
    const running = this.state === 'starting' || this.state === 'ready';
    this.state = 'stopped';
    if (!running || !this.worker) return;
    this.worker.postMessage('stop');
    const worker = this.worker;
    const timer = setTimeout(() => void worker.terminate(), STOP_WAIT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private start(): void {
    this.state = 'starting';
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ...this.options, everyMs: CHECKPOINT_EVERY_MS },
    });
    this.worker = worker;
    // The app must be able to exit with the store still open.
    worker.unref();
    worker.on('message', () => {
      if (this.state !== 'starting') return;
      this.state = 'ready';
      this.connections.forEach((conn) => this.hand(conn));
    });
    // The first line: a failed require adds its stack of requirers.
    worker.on('error', (err) => this.failed(err.message.split('\n')[0]));
    this.exited = new Promise((resolve) =>
      worker.once('exit', (code) => {
        this.failed(`the checkpoint thread exited (code ${code})`);
        resolve();
      }),
    );
  }

  private hand(conn: SqliteConnection): void {
    if (conn.open) conn.pragma('wal_autocheckpoint = 0');
    else this.connections.delete(conn);
  }

  private failed(reason: string): void {
    if (this.state === 'failed' || this.state === 'stopped') return;
    this.state = 'failed';
    this.logger.warn(
      `SQLite checkpoints are back on the event loop: ${reason}`,
    );
    for (const conn of this.connections)
      if (conn.open)
        conn.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
  }
}
