import type { AppProcess } from './app-process.js';
import { HttpVisitor, type Answer } from './http-visitor.js';

/** What kind of request: a logged-in page view, a login, the known session, a health check. */
export type LoadKind = 'view' | 'login' | 'known' | 'health';

export interface LoadRecord {
  kind: LoadKind;
  app: string;
  /** When it was sent and answered (epoch ms). */
  sent: number;
  answered: number;
  /** The status, `200 anonymous` for a page view that no longer knew its user, `none`. */
  outcome: string;
  ok: boolean;
}

const sleep = (ms: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A steady, bounded load on several app instances: logged-in visitors viewing a page in turn
 * on each instance, a stream of fresh logins, the known session probed every 50 ms, and the
 * health check every 200 ms. Every answer is recorded for the report.
 */
export class FailoverLoad {
  readonly records: LoadRecord[] = [];
  private running = true;
  private readonly loops: Promise<void>[] = [];

  private constructor(
    private readonly apps: AppProcess[],
    private readonly viewers: { visitor: HttpVisitor; user: string }[],
    private readonly known: { visitor: HttpVisitor; user: string },
  ) {}

  /** Logs `viewerCount` visitors in (spread over the apps), then starts the loops. */
  static async start(
    apps: AppProcess[],
    known: { visitor: HttpVisitor; user: string },
    { viewerCount = 4, tag = 'load' } = {},
  ): Promise<FailoverLoad> {
    const viewers = await Promise.all(
      Array.from({ length: viewerCount }, async (_, i) => {
        const visitor = new HttpVisitor();
        const user = `${tag}-viewer-${i}`;
        const login = await visitor.logIn(apps[i % apps.length].url, user);
        if (login.status !== 302)
          throw new Error(`viewer ${user} could not log in: ${login.status}`);
        return { visitor, user };
      }),
    );
    const load = new FailoverLoad(apps, viewers, known);
    viewers.forEach((viewer, i) =>
      load.loop((n) => load.view('view', viewer, n + i), 50),
    );
    load.loop((n) => load.freshLogin(`${tag}-login-${n}`, n), 100);
    load.loop((n) => load.view('known', known, n), 50);
    load.loop((n) => load.health(n), 200);
    return load;
  }

  /** Stops the loops and waits for the requests in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** The visitors logged in before it started, the known one included. */
  get sessions(): { visitor: HttpVisitor; user: string }[] {
    return [this.known, ...this.viewers];
  }

  private loop(step: (n: number) => Promise<void>, pauseMs: number): void {
    this.loops.push(
      (async () => {
        for (let n = 0; this.running; n++) {
          await step(n);
          await sleep(pauseMs);
        }
      })(),
    );
  }

  private appFor(n: number): AppProcess {
    return this.apps[n % this.apps.length];
  }

  private async view(
    kind: LoadKind,
    { visitor, user }: { visitor: HttpVisitor; user: string },
    n: number,
  ): Promise<void> {
    const app = this.appFor(n);
    const sent = Date.now();
    const answer = await visitor.view(app.url);
    const recognised = answer.status === 200 && answer.greeting === user;
    this.record(kind, app, sent, answer, recognised, (status) =>
      status === 200 && !recognised ? '200 anonymous' : String(status),
    );
  }

  private async freshLogin(user: string, n: number): Promise<void> {
    const app = this.appFor(n);
    const visitor = new HttpVisitor();
    const sent = Date.now();
    const answer = await visitor.logIn(app.url, user);
    this.record('login', app, sent, answer, answer.status === 302);
  }

  private async health(n: number): Promise<void> {
    const app = this.appFor(n);
    const sent = Date.now();
    let status = 0;
    try {
      status = (
        await fetch(`${app.url}/health`, {
          signal: AbortSignal.timeout(10_000),
        })
      ).status;
    } catch {
      // no answer: recorded as such
    }
    const answer = { status, ms: Date.now() - sent, text: '' };
    this.record('health', app, sent, answer, status === 200);
  }

  private record(
    kind: LoadKind,
    app: AppProcess,
    sent: number,
    answer: Answer,
    ok: boolean,
    label: (status: number) => string = String,
  ): void {
    this.records.push({
      kind,
      app: app.name,
      sent,
      answered: sent + answer.ms,
      outcome: answer.status === 0 ? 'none' : label(answer.status),
      ok,
    });
  }
}

/** What a failover cost, as the README reports it. */
export interface FailoverReport {
  /** From the kill to the first answer that knew the known session again. */
  firstSuccessMs: number | undefined;
  /** From the kill to the first success after the known session's last failure: it works from then on. */
  recoveredMs: number | undefined;
  /** Answers by kind and outcome, from the kill on. */
  outcomes: Record<LoadKind, Record<string, number>>;
  /** The longest any request took, from the kill on. */
  slowestMs: number;
  /** Health checks that said 200 while the known session failed. */
  healthyDuringOutage: number;
  /** Health checks that said 503 during the outage. */
  unhealthyDuringOutage: number;
}

/** The failover's figures from the records of a load, for a kill at `killedAt`. */
export function failoverReport(
  records: LoadRecord[],
  killedAt: number,
): FailoverReport {
  const after = records.filter((r) => r.sent >= killedAt);
  const known = after
    .filter((r) => r.kind === 'known')
    .toSorted((a, b) => a.sent - b.sent);
  const firstFailure = known.find((r) => !r.ok);
  const lastFailure = known.findLast((r) => !r.ok);
  const firstSuccess = known.find(
    (r) => r.ok && firstFailure !== undefined && r.sent > firstFailure.sent,
  );
  // Each instance reconnects on its own: recovered once the last that failed has.
  const recoveries = [...new Set(known.map((r) => r.app))].flatMap((app) => {
    const own = known.filter((r) => r.app === app);
    const failed = own.findLast((r) => !r.ok);
    return failed ? [own.find((r) => r.ok && r.sent > failed.sent)] : [];
  });
  const recovered = recoveries.includes(undefined)
    ? undefined
    : recoveries.reduce<LoadRecord | undefined>(
        (latest, r) => (!latest || r!.answered > latest.answered ? r : latest),
        undefined,
      );
  const outcomes = {} as Record<LoadKind, Record<string, number>>;
  for (const r of after) {
    const byOutcome = (outcomes[r.kind] ??= {});
    byOutcome[r.outcome] = (byOutcome[r.outcome] ?? 0) + 1;
  }
  const outage = (r: LoadRecord) =>
    r.kind === 'health' &&
    firstFailure !== undefined &&
    lastFailure !== undefined &&
    r.sent >= firstFailure.sent &&
    r.answered <= lastFailure.answered;
  return {
    firstSuccessMs: firstSuccess && firstSuccess.answered - killedAt,
    recoveredMs: recovered && recovered.answered - killedAt,
    outcomes,
    slowestMs: Math.max(0, ...after.map((r) => r.answered - r.sent)),
    healthyDuringOutage: after.filter((r) => outage(r) && r.ok).length,
    unhealthyDuringOutage: after.filter((r) => outage(r) && !r.ok).length,
  };
}
