import { openDatabase, type DatabaseHandle } from '../../src/db/client.js';
import { createServer, connect, type Socket } from 'node:net';

/** What a cut does to connections that arrive while it lasts. */
export type CutMode =
  /**
   * The port stops listening (ECONNREFUSED), as a stopped server. Refused rather than accepted and
   * dropped: postgres.js 3.4.9 crashes the process when a socket closes while its startup message
   * waits in a setImmediate (porsager/postgres#1154, #1208: `nextWrite` on a null socket).
   */
  | 'refuse'
  /** Accepted and held, not forwarded, until `restore` (a partitioned network). */
  | 'hold';

/** A TCP proxy on a loopback port that a test can cut and restore (a network fault without touching the server). */
export interface TcpProxy {
  /** The local port to connect to instead of the target's. */
  readonly port: number;
  /** Destroys every open connection; new ones are refused or held (`mode`) until `restore`. */
  cut(mode?: CutMode): Promise<void>;
  /** Forwards again, held connections included. */
  restore(): Promise<void>;
  /**
   * Cuts (`refuse`) the moment the next new connection sends its second chunk: for postgres.js, the
   * first statement after its startup (its type fetch), so the cut lands while that is out.
   */
  cutAtFirstStatement(): Promise<void>;
  /** Connections forwarded so far (tests use it to know a client reconnected). */
  connections(): number;
  /** Drops everything and stops listening. */
  close(): Promise<void>;
}

/** Forwards every connection on 127.0.0.1:<port> to `targetHost:targetPort`, byte for byte. */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let held: Socket[] = [];
  let cut: CutMode | undefined;
  let closed = false;
  let forwarded = 0;
  let trap: (() => void) | undefined;

  const forward = (client: Socket) => {
    if (client.destroyed) return;
    forwarded++;
    const upstream = connect(targetPort, targetHost);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', drop).on('close', drop);
    }
    client.pipe(upstream).pipe(client);
    if (trap) {
      const spring = trap;
      trap = undefined;
      let chunks = 0;
      client.on('data', () => {
        if (++chunks === 2) spring();
      });
    }
  };

  const server = createServer((client) => {
    if (closed || cut === 'refuse') return void client.destroy();
    if (cut === 'hold') {
      client.on('error', () => client.destroy());
      held.push(client);
      return;
    }
    forward(client);
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('The proxy has no TCP port');
  const stop = () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  const dropAll = () => {
    for (const socket of [...open, ...held]) socket.destroy();
    open.clear();
    held = [];
  };

  const cutNow = async (mode: CutMode = 'refuse') => {
    cut = mode;
    const stopped = mode === 'refuse' ? stop() : Promise.resolve();
    for (const socket of open) socket.destroy();
    open.clear();
    await stopped;
  };

  return {
    port: address.port,
    cut: cutNow,
    async restore() {
      cut = undefined;
      if (!server.listening && !closed) await listen(address.port);
      const waiting = held;
      held = [];
      for (const client of waiting) forward(client);
    },
    cutAtFirstStatement() {
      return new Promise<void>((resolve) => {
        trap = () => void cutNow('refuse').then(resolve);
      });
    },
    connections: () => forwarded,
    async close() {
      closed = true;
      const stopped = stop();
      dropAll();
      await stopped;
    },
  };
}

/** A PostgreSQL database opened through a TCP proxy of its own, so that a test can cut jobscope off it. */
export interface ProxiedDatabase {
  proxy: TcpProxy;
  /** The database as jobscope sees it: through the proxy. */
  handle: DatabaseHandle;
  /** Restores the proxy, closes the handle, then the proxy. */
  close(): Promise<void>;
}

export async function openThroughProxy(target: { url: string }): Promise<ProxiedDatabase> {
  const url = new URL(target.url);
  const proxy = await startTcpProxy(Number(url.port || 5432), url.hostname);
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  const handle = await openDatabase({ kind: 'postgres', url: url.toString() });
  return {
    proxy,
    handle,
    async close() {
      await proxy.restore();
      await handle.close();
      await proxy.close();
    },
  };
}
