/** Servers the benchmarks start for themselves: private redis-server and memcached, and the apps. */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const run = promisify(execFile);

/**
 * Spawns a store server that listens on `port` once ready. Fails with a message naming its Debian
 * package when the binary is missing, or with its stderr when it exits before listening; a server
 * that failed to start is killed. Returns `stop()`, which kills it and waits for its exit.
 */
async function startDaemon(command, args, port, debianPackage) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-2000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const running = () => child.exitCode === null && child.signalCode === null;
  try {
    await new Promise((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(new Error(`cannot start ${command} (Debian package ${debianPackage}): ${err.message}`)));
    });
    await waitForPort(port, () => {
      if (!running()) throw new Error(`${command} on port ${port} exited (${child.exitCode ?? child.signalCode}): ${stderr.trim()}`);
    });
  } catch (err) {
    if (child.pid !== undefined && running()) child.kill('SIGKILL');
    throw err;
  }
  return {
    stop: async () => {
      if (!running()) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A redis-server on a free port that keeps nothing on disk; stopped by `stop()`. */
export async function startRedis() {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const server = await startDaemon('redis-server', args, port, 'redis-server').catch(async (err) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A Redis Cluster of `masters` masters (no replicas) on free ports, each with its bus on another
 * free port, made by `redis-cli --cluster create`; ready once every node says cluster_state:ok.
 * Returns the seeds (REDIS_CLUSTER_NODES), the ports, and `stop()`.
 */
export async function startRedisCluster(masters = 3) {
  const nodes = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.server.stop()));
    await Promise.all(nodes.map((node) => rm(node.dir, { recursive: true, force: true })));
  };
  try {
    for (let i = 0; i < masters; i++) {
      const [port, busPort] = [await freePort(), await freePort()];
      const dir = await mkdtemp(join(tmpdir(), 'bench-cluster-'));
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
        '--cluster-enabled', 'yes', '--cluster-port', String(busPort), '--cluster-config-file', join(dir, 'nodes.conf')];
      nodes.push({ port, dir, server: await startDaemon('redis-server', args, port, 'redis-server') });
    }
    const seeds = nodes.map((node) => `127.0.0.1:${node.port}`);
    await run('redis-cli', ['--cluster', 'create', ...seeds, '--cluster-replicas', '0', '--cluster-yes']);
    for (let attempt = 0; ; attempt++) {
      const states = await Promise.all(
        nodes.map(async (node) => (await run('redis-cli', ['-p', String(node.port), 'cluster', 'info'])).stdout),
      );
      if (states.every((info) => info.includes('cluster_state:ok'))) break;
      if (attempt > 200) throw new Error('the bench cluster did not become ok');
      await sleep(50);
    }
    return { seeds: seeds.join(','), ports: nodes.map((node) => node.port), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A memcached on a free port (TCP only, `memoryMB` of cache, 64 by default; default 1 MB item
 * limit); stopped by `stop()`.
 */
export async function startMemcached({ memoryMB = 64 } = {}) {
  const port = await freePort();
  const args = ['-p', String(port), '-l', '127.0.0.1', '-U', '0', '-m', String(memoryMB)];
  // memcached refuses to run as root unless told which user to run as.
  if (process.getuid?.() === 0) args.push('-u', 'root');
  const server = await startDaemon('memcached', args, port, 'memcached');
  return { address: `127.0.0.1:${port}`, port, stop: server.stop };
}

/**
 * Starts `node <script>` with `env` and waits until GET /health answers 200.
 * Returns its URL, pid, `output()` (the tail of its stdout and stderr) and a `stop()`.
 */
export async function startNodeServer(name, script, env) {
  const port = await freePort();
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk) => (output = (output + chunk).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  let health = 'no answer';
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) break;
    const res = await fetch(`${url}/health`).catch(() => undefined);
    if (res) health = `${res.status} ${await res.text()}`;
    if (res?.ok) {
      return {
        name,
        url,
        pid: child.pid,
        output: () => output,
        stop: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          await Promise.race([exited, sleep(3000).then(() => child.kill('SIGKILL'))]);
        },
      };
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`${name} did not start (GET /health: ${health}): ${output}`);
}

/** Waits until `port` accepts connections; `check()` may throw to give up early (a dead server). */
async function waitForPort(port, check = () => {}) {
  for (let attempt = 0; attempt < 200; attempt++) {
    check();
    const open = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`nothing listens on port ${port}`);
}

/** CPU time (user + system) a process has used so far, in microseconds (Linux). */
export async function cpuMicrosOf(pid) {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  const ticksPerSecond = 100;
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticksPerSecond;
}

/** Resident set size of a process, in bytes (Linux). */
export async function rssOf(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]);
  return kib * 1024;
}
