import { createServer, connect, type Socket } from 'node:net';

/** A TCP proxy on a loopback port that a test can cut and restore (a network fault without touching the server). */
export interface TcpProxy {
  /** The local port to connect to instead of the target's. */
  port: number;
  /** Destroys every open connection and holds new ones (accepted, not forwarded) until `restore`. */
  cut(): void;
  /** Forwards again, held connections included. */
  restore(): void;
  /** Connections forwarded so far (tests use it to know a client reconnected). */
  connections(): number;
  close(): Promise<void>;
}

/**
 * Forwards every connection on 127.0.0.1:<port> to `targetHost:targetPort`, byte for byte.
 * While cut, new connections wait (as behind a partitioned network) and are forwarded on restore.
 */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let held: Socket[] = [];
  let isCut = false;
  let forwarded = 0;

  const forward = (client: Socket) => {
    if (client.destroyed) return;
    forwarded++;
    const upstream = connect(targetPort, targetHost);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  };

  const server = createServer((client) => {
    if (!isCut) return forward(client);
    client.on('error', () => client.destroy());
    held.push(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('The proxy has no TCP port');

  return {
    port: address.port,
    cut() {
      isCut = true;
      for (const socket of open) socket.destroy();
      open.clear();
    },
    restore() {
      isCut = false;
      const waiting = held;
      held = [];
      for (const client of waiting) forward(client);
    },
    connections: () => forwarded,
    async close() {
      for (const socket of [...open, ...held]) socket.destroy();
      open.clear();
      held = [];
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
