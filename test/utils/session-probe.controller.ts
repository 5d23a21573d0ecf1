import { Controller, Get, Param, Post, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { SessionService } from 'nest-server-session';

const sleep = (ms: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, ms));

type Data = Record<string, unknown>;

/**
 * A point where a test-only handler waits until the test lets it go, so that a "slow" request
 * finishes exactly after what the test does meanwhile (a logout, a new login), whatever the
 * machine's load: the test waits until the handler has `arrived` (its session is loaded), acts,
 * then `open`s the gate.
 */
interface Gate {
  arrived: Promise<void>;
  reach(): void;
  opened: Promise<void>;
  open(): void;
}

/** Longest a gated handler waits for its test, so that a failed test cannot hang the app. */
const GATE_TIMEOUT_MS = 10_000;

/**
 * Test-only routes (never in the demo) that act on the session the way concurrent requests
 * of a real app do: slow writers and readers, plain key writes, atomic updates, logout.
 */
@Controller('test-session')
export class SessionProbeController {
  private readonly gates = new Map<string, Gate>();

  constructor(private readonly sessions: SessionService) {}

  /** Sets `key` to `value` (default true) through req.session, after `wait` ms or a gate. */
  @Post('set/:key')
  async set(
    @Req() req: Request,
    @Param('key') key: string,
    @Query('wait') wait = '0',
    @Query('value') value?: string,
    @Query('gate') gate?: string,
  ): Promise<Data> {
    await this.pause(wait, gate);
    (req.session as unknown as Data)[key] = value ?? true;
    return { ok: true };
  }

  /** `n = n + 1` through the atomic update API. */
  @Post('increment')
  async increment(@Req() req: Request): Promise<Data> {
    const stored = await this.sessions.update(req, (session) => {
      const data = session as unknown as Data;
      data.n = ((data.n as number | undefined) ?? 0) + 1;
    });
    return { n: (stored as unknown as Data | null)?.n ?? null };
  }

  /** What the request's session holds, after `wait` ms or a gate. */
  @Get('read')
  async read(
    @Req() req: Request,
    @Query('wait') wait = '0',
    @Query('gate') gate?: string,
  ): Promise<Data> {
    await this.pause(wait, gate);
    const { cookie: _cookie, ...data } = (req.session ?? {}) as unknown as Data;
    return { session: data };
  }

  @Post('logout')
  async logOut(@Req() req: Request): Promise<Data> {
    await this.sessions.destroy(req);
    return { ok: true };
  }

  /** Answers once the handler gated by `id` has started waiting. */
  @Get('arrived/:id')
  async arrived(@Param('id') id: string): Promise<Data> {
    await Promise.race([this.gate(id).arrived, sleep(GATE_TIMEOUT_MS)]);
    return { ok: true };
  }

  /** Lets the handler gated by `id` go on. */
  @Post('open/:id')
  open(@Param('id') id: string): Data {
    this.gate(id).open();
    return { ok: true };
  }

  private async pause(wait: string, id: string | undefined): Promise<void> {
    if (id === undefined) return sleep(Number(wait));
    const gate = this.gate(id);
    gate.reach();
    await Promise.race([gate.opened, sleep(GATE_TIMEOUT_MS)]);
    this.gates.delete(id);
  }

  private gate(id: string): Gate {
    let gate = this.gates.get(id);
    if (!gate) {
      let reach!: () => void;
      let open!: () => void;
      const arrived = new Promise<void>((resolve) => (reach = resolve));
      const opened = new Promise<void>((resolve) => (open = resolve));
      gate = { arrived, reach, opened, open };
      this.gates.set(id, gate);
    }
    return gate;
  }
}
