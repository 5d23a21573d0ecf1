import { createConnection, createServer, type Socket } from 'node:net';

/** A TCP forwarder to a store, that a test can turn into one kind of failure or another. */
export interface TcpProxy {
  port: number;
  /**
   * From now on, the connections already open swallow everything, both ways, with no reset
   * and no FIN: what a dead NAT entry, a failed-over load balancer or a pulled cable looks like
   * to a client. New connections still forward normally.
   */
  silenceOpenConnections(): void;
  /** Connections open now (silenced or not). */
  readonly openConnections: number;
  /** Silenced connections the client has not closed yet. */
  readonly silencedConnections: number;
  /** Holds every byte for `ms` before passing it on (both ways), on every connection. */
  delay(ms: number): void;
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  upstream: Socket;
  silenced: boolean;
}

/** Forwards `port` (0: a free one) on 127.0.0.1 to `target`. */
export function forward(
  port: number,
  target: { host: string; port: number },
): Promise<TcpProxy> {
  const links = new Set<Link>();
  /** Sockets of silenced links whose other side closed: kept open until the proxy closes. */
  const stranded = new Set<Socket>();
  let delayMs = 0;
  const relay = (link: Link, from: Socket, to: Socket) =>
    from.on('data', (chunk: Buffer) => {
      if (link.silenced) return;
      if (delayMs === 0) to.write(chunk);
      else
        setTimeout(() => {
          if (!link.silenced && !to.destroyed) to.write(chunk);
        }, delayMs);
    });
  const server = createServer((client) => {
    const upstream = createConnection(target);
    const link: Link = { client, upstream, silenced: false };
    links.add(link);
    for (const socket of [client, upstream]) {
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        links.delete(link);
        stranded.delete(socket);
        const other = socket === client ? upstream : client;
        // A silenced link stays open on the other side: that is the failure.
        if (link.silenced) {
          if (!other.destroyed) stranded.add(other);
        } else other.destroy();
      });
    }
    relay(link, client, upstream);
    relay(link, upstream, client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () =>
      resolve({
        port: (server.address() as { port: number }).port,
        silenceOpenConnections: () => {
          for (const link of links) link.silenced = true;
        },
        get openConnections() {
          return links.size;
        },
        get silencedConnections() {
          return [...links].filter((link) => link.silenced).length;
        },
        delay: (ms) => {
          delayMs = ms;
        },
        close: () =>
          new Promise<void>((done) => {
            for (const { client, upstream } of links) {
              client.destroy();
              upstream.destroy();
            }
            for (const socket of stranded) socket.destroy();
            server.close(() => done());
          }),
      }),
    );
  });
}
