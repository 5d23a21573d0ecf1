import type { Socket } from 'node:net';
import type { Server } from 'memjs';

/** The parts of a memjs 1.3.2 Server that its type declarations leave out or mark read-only. */
type ServerInternals = { _socket?: Socket; responseBuffer: Buffer };

/**
 * Keeps every socket memjs opens to `server` and drops them all when memjs gives up on the
 * server. memjs 1.3.2 only half-closes a socket whose request timed out, so against a stalled
 * server that socket lingers; when it finally closes, its handler unsets the socket memjs has
 * opened since: a call waiting for that one to connect is never sent (a hang), and the socket
 * outlives `client.close()`, keeping the process alive. Bytes of a half-received reply also
 * stay in the response buffer and would misalign every later reply. memjs fails every pending
 * request of the server when it reports an error, so its sockets have nothing left to deliver.
 * @returns closes the sockets: gracefully, then by force after `graceMs`.
 */
export function superviseSockets(
  server: Server,
): (graceMs: number) => Promise<void> {
  const internals = server as unknown as ServerInternals;
  const sockets = new Set<Socket>();
  const sock = server.sock.bind(server);
  server.sock = (sasl, go) => {
    sock(sasl, go);
    // oxlint-disable-next-line no-underscore-dangle -- memjs keeps the socket nowhere else
    const socket = internals._socket;
    if (socket && !sockets.has(socket)) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    }
  };
  const error = server.error.bind(server);
  server.error = (err) => {
    for (const socket of sockets) socket.destroy();
    internals.responseBuffer = Buffer.alloc(0);
    error(err);
  };

  return async (graceMs) => {
    const closed = [...sockets].map(
      (socket) => new Promise((resolve) => socket.once('close', resolve)),
    );
    for (const socket of sockets) socket.end();
    const timer = setTimeout(() => {
      for (const socket of sockets) socket.destroy();
    }, graceMs);
    await Promise.all(closed);
    clearTimeout(timer);
  };
}
