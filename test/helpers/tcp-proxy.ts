import { createServer, connect, type Socket } from 'node:net';

/** A TCP proxy on 127.0.0.1 in front of `targetPort`, to cut a connection (a database outage) and restore it. */
export interface TcpProxy {
  /** Where to connect instead of the target. */
  readonly port: number;
  /**
   * Drops every open connection and refuses new ones (the port stops listening: ECONNREFUSED)
   * until `restore`. Refused rather than accepted and dropped: postgres.js 3.4.9 crashes the
   * process when a socket closes while its startup message waits in a setImmediate
   * (porsager/postgres#1154, #1208: `nextWrite` on a null socket).
   */
  cut(): Promise<void>;
  /** Listens on the same port and forwards new connections again. */
  restore(): Promise<void>;
  /** Drops everything and stops listening. */
  close(): Promise<void>;
}

/** Starts a proxy to `targetHost:targetPort` on an ephemeral loopback port. */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let cut = false;
  const server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await listen(0);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy did not bind a TCP port');
  const stop = () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  const dropAll = () => {
    for (const socket of open) socket.destroy();
    open.clear();
  };
  return {
    port: address.port,
    async cut() {
      cut = true;
      const stopped = stop();
      dropAll();
      await stopped;
    },
    async restore() {
      cut = false;
      if (!server.listening) await listen(address.port);
    },
    async close() {
      cut = true;
      const stopped = stop();
      dropAll();
      await stopped;
    },
  };
}
