/**
 * Issue #11: what a new user meets when pointing the store at Redis past one server. A
 * single-server URL that leads to a cluster node or a sentinel stops the start with one line;
 * one that leads to a replica starts, and /health says why it cannot serve until the replica
 * is promoted. And every mode works secured: an ACL user with a password, TLS, a database.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { Test } from '@nestjs/testing';
import { Cluster, Redis } from 'ioredis';
import {
  SESSION_STORE,
  SessionModule,
  type Env,
  type SessionStoreHandle,
} from 'nest-server-session';
import {
  session,
  sessionId,
} from '../packages/nest-server-session/src/stores/common/store.fixtures.js';
import request from 'supertest';
import { startAppProcess, type AppProcess } from './utils/app-process.js';
import { freePort } from './utils/free-port.js';
import { HttpVisitor } from './utils/http-visitor.js';
import { clusterNodeArgs, RedisCluster } from './utils/redis-cluster.js';
import { commonNodeArgs, RedisNode, waitFor } from './utils/redis-node.js';
import {
  redisSecurity,
  securedServerArgs,
  type RedisSecurity,
} from './utils/redis-security.js';
import {
  RedisSentinelGroup,
  SENTINEL_MASTER_NAME,
} from './utils/redis-sentinel.js';
import { logIn } from './utils/session-http.js';
import { openStoreFromEnv } from './utils/store-from-env.js';
import { createTestApp } from './utils/test-app.js';

const TIMEOUT_MS = 1000;

describe('REDIS_URL at a server that is no plain Redis master', () => {
  const nodes: RedisNode[] = [];
  afterAll(() => Promise.all(nodes.map((node) => node.stop())));

  const start = async (args: (port: number, dir: string) => string[]) => {
    const node = await RedisNode.start(args);
    nodes.push(node);
    return node;
  };

  it('stops the start with one line when it leads to a node of a Redis Cluster', async () => {
    const busPort = await freePort();
    const node = await start((port, dir) =>
      clusterNodeArgs(port, dir, busPort),
    );
    await expect(
      openStoreFromEnv({
        SESSION_TYPE: 'redis',
        REDIS_URL: `redis://${node.address}`,
      }),
    ).rejects.toThrow(
      /^Redis url: leads to a node of a Redis Cluster: set clusterNodes \(REDIS_CLUSTER_NODES\)/,
    );
  });

  it('stops the start with one line when it leads to a sentinel', async () => {
    const port = await freePort();
    const sentinel = await RedisNode.startOn(port, async (dir) => {
      await writeFile(`${dir}/sentinel.conf`, `port ${port}\nbind 127.0.0.1\n`);
      return [`${dir}/sentinel.conf`, '--sentinel'];
    });
    nodes.push(sentinel);
    await expect(
      openStoreFromEnv({
        SESSION_TYPE: 'redis',
        REDIS_URL: `redis://${sentinel.address}`,
      }),
    ).rejects.toThrow(
      /^Redis url: leads to a sentinel: set sentinels and sentinelName \(REDIS_SENTINELS, REDIS_SENTINEL_NAME\)/,
    );
  });

  it('starts on a replica, says on /health why it cannot serve and answers logins 503 in time, then serves once the replica is promoted', async () => {
    const master = await start(commonNodeArgs);
    const replica = await start((port, dir) => [
      ...commonNodeArgs(port, dir),
      '--replicaof',
      '127.0.0.1',
      String(master.port),
    ]);
    const t = await createTestApp({
      SESSION_TYPE: 'redis',
      REDIS_URL: `redis://${replica.address}`,
      SESSION_STORE_TIMEOUT_MS: String(TIMEOUT_MS),
    });
    try {
      const health = await request(t.server).get('/health').expect(503);
      expect(health.body).toEqual({
        status: 'error',
        store: {
          type: 'redis',
          ok: false,
          mode: 'single',
          nodes: [{ address: replica.address, role: 'replica', up: true }],
          problem: 'connected to a replica, which cannot take writes',
        },
      });
      const agent = request.agent(t.server);
      const started = Date.now();
      const token = /name="_csrf" value="([^"]+)"/.exec(
        (await agent.get('/login/').expect(200)).text,
      )![1];
      await agent
        .post('/login/')
        .type('form')
        .send({ username: 'alice', _csrf: token })
        .expect(503);
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 500);

      await replica.ask((client) => client.replicaof('NO', 'ONE'));
      await waitFor('/health to say ok', async () => {
        return (await request(t.server).get('/health')).status === 200;
      });
      await logIn(request.agent(t.server), 'alice');
    } finally {
      await t.close();
    }
  });
});

/** A topology started secured, and the app settings that reach it. */
interface Secured {
  env: Env;
  /** A client of the app's own, as `forRoot({ client })` takes it: the CA given directly. */
  client(ca: Buffer): Redis | Cluster;
  /** Where the session `key` is, read on the server with the test's own client. */
  holds(key: string): Promise<boolean>;
  stop(): Promise<void>;
}

const SECURED: [string, (security: RedisSecurity) => Promise<Secured>][] = [
  [
    'single',
    async (security) => {
      const port = await freePort();
      const node = await RedisNode.start(
        (plain, dir) => [
          ...commonNodeArgs(plain, dir),
          ...securedServerArgs(security, port),
        ],
        { clientPort: port, auth: security.auth },
      );
      return {
        // Credentials and database in the URL, TLS by its scheme.
        env: {
          REDIS_URL: `rediss://${security.username}:${security.password}@127.0.0.1:${port}/3`,
        },
        client: (ca) =>
          new Redis({
            host: '127.0.0.1',
            port,
            ...security.auth,
            db: 3,
            tls: { ca },
          }),
        holds: (key) => inDatabase(node, 3, key),
        stop: () => node.stop(),
      };
    },
  ],
  [
    'sentinel',
    async (security) => {
      const group = await RedisSentinelGroup.start({ security });
      return {
        env: {
          REDIS_SENTINELS: group.addresses,
          REDIS_SENTINEL_NAME: SENTINEL_MASTER_NAME,
          REDIS_SENTINEL_PASSWORD: security.sentinelPassword,
          REDIS_USERNAME: security.username,
          REDIS_PASSWORD: security.password,
          REDIS_DB: '3',
          REDIS_TLS: 'true',
        },
        client: (ca) =>
          new Redis({
            sentinels: group.sentinels.map((s) => ({
              host: '127.0.0.1',
              port: s.clientPort,
            })),
            name: SENTINEL_MASTER_NAME,
            sentinelPassword: security.sentinelPassword,
            enableTLSForSentinelMode: true,
            sentinelTLS: { ca },
            tls: { ca },
            ...security.auth,
            db: 3,
          }),
        holds: async (key) => inDatabase(await group.master(), 3, key),
        stop: () => group.stop(),
      };
    },
  ],
  [
    'cluster',
    async (security) => {
      const cluster = await RedisCluster.start({ security });
      return {
        env: {
          REDIS_CLUSTER_NODES: cluster.seeds,
          REDIS_USERNAME: security.username,
          REDIS_PASSWORD: security.password,
          REDIS_TLS: 'true',
        },
        client: (ca) =>
          new Cluster(
            cluster.nodes.map((node) => ({
              host: '127.0.0.1',
              port: node.clientPort,
            })),
            { redisOptions: { ...security.auth, tls: { ca } } },
          ),
        holds: async (key) => inDatabase(await cluster.masterOf(key), 0, key),
        stop: () => cluster.stop(),
      };
    },
  ],
];

describe.each(SECURED)(
  'secured Redis (%s): ACL user and password, TLS, a database',
  (mode, startSecured) => {
    let security: RedisSecurity;
    let secured: Secured | undefined;
    let app: AppProcess | undefined;

    beforeAll(async () => {
      security = await redisSecurity();
      secured = await startSecured(security);
      app = await startAppProcess(`secured-${mode}`, {
        SESSION_TYPE: 'redis',
        ...secured.env,
        SESSION_KEY_PREFIX: 'secured:',
        // The servers' certificate is signed by the run's own CA.
        NODE_EXTRA_CA_CERTS: security.caFile,
      } as Record<string, string>);
    }, 60_000);

    afterAll(async () => {
      await app?.stop();
      await secured?.stop();
      await security?.remove();
    });

    it('logs in and out over TLS as the ACL user, in the configured database, and never prints a password', async () => {
      const health = await fetch(`${app!.url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ store: { ok: true, mode } });
      const visitor = new HttpVisitor();
      expect((await visitor.logIn(app!.url, 'Zoë')).status).toBe(302);
      expect((await visitor.view(app!.url)).greeting).toBe('Zoë');
      const key = `secured:${visitor.sessionId}`;
      expect(await secured!.holds(key)).toBe(true);
      expect((await visitor.logOut(app!.url)).status).toBe(302);
      expect(await secured!.holds(key)).toBe(false);
      expect(app!.output()).not.toMatch(/S3cret/);
    });

    it('takes a client of the app’s own in forRoot, works through it, and leaves it open at close', async () => {
      const client = secured!.client(await readFile(security.caFile));
      try {
        const moduleRef = await Test.createTestingModule({
          imports: [
            SessionModule.forRoot({
              type: 'redis',
              secret: 's',
              prefix: 'own-client:',
              client,
            }),
          ],
        }).compile();
        const nest = moduleRef.createNestApplication({ logger: false });
        await nest.init();
        const handle = nest.get<SessionStoreHandle>(SESSION_STORE);
        const sid = sessionId('own-client');
        try {
          expect(await handle.health()).toMatchObject({ ok: true, mode });
          await handle.backend.create(sid, session({ username: 'own' }), 60);
          expect(await handle.backend.load(sid)).toMatchObject({
            session: { username: 'own' },
          });
          expect(await secured!.holds(`own-client:${sid}`)).toBe(true);
        } finally {
          await nest.close();
        }
        // Still the app's: open and working after the store closed.
        expect(await client.get(`own-client:${sid}`)).toContain('"own"');
      } finally {
        client.disconnect();
      }
    });
  },
);

/** Whether `node` holds `key` in `database`. */
function inDatabase(
  node: RedisNode,
  database: number,
  key: string,
): Promise<boolean> {
  return node.ask(async (client) => {
    if (database !== 0) await client.select(database);
    return (await client.exists(key)) === 1;
  });
}
