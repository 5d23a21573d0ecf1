import type { Server } from 'node:http';

/**
 * Lets a closing HTTP server stop as soon as its last answer is out. Nest's close() calls
 * `server.close()`, which closes the idle connections and then waits for the others to end;
 * a keep-alive connection whose request was in flight stays open after its answer until a
 * keep-alive timeout (seconds) ends it, and the process waits that long after SIGTERM. Once
 * the server no longer listens, every finished answer closes the connections left idle.
 */
export function closeIdleConnectionsOnShutdown(server: Server): void {
  server.on('request', (_req, res) =>
    res.once('finish', () => {
      if (!server.listening) setImmediate(() => server.closeIdleConnections());
    }),
  );
}
