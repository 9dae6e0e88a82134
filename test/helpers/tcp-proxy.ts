import { createConnection, createServer, type Socket } from 'node:net';

export type TcpProxy = {
  port: number;
  /**
   * Stops forwarding on the connections open now, in both directions, without closing them: a
   * flow a NAT or a load balancer has forgotten, or a frozen host. Connections made later are
   * forwarded as usual.
   */
  freeze(): void;
  /**
   * While `refusing`, connections made are closed at once, unanswered (a server that restarts, a
   * network that drops new flows); those open stay as they are.
   */
  refuseNew(refusing: boolean): void;
  /** Connections made from now on go to `port` (a failover: the same address, another server). */
  retarget(port: number): void;
  /**
   * The local ports of the proxy's connections to its targets open now: what the server lists as
   * their clients' `addr`, to tell them from clients that reach it another way.
   */
  upstreamPorts(): Set<number>;
  close(): Promise<void>;
};

/** A TCP proxy on 127.0.0.1 to `targetPort` on 127.0.0.1, for faults a real server cannot show. */
export const startTcpProxy = async (targetPort: number): Promise<TcpProxy> => {
  const open = new Set<{ frozen: boolean; sockets: Socket[]; upstream: Socket }>();
  // Every socket not yet closed, for close(): a frozen pair whose one side closed has left `open`
  // with its other side still connected (to the server, which would keep it until it stops).
  const live = new Set<Socket>();
  let refusing = false;
  let target = targetPort;
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = createConnection(target, '127.0.0.1');
    const pair = { frozen: false, sockets: [client, upstream], upstream };
    open.add(pair);
    const forward = (from: Socket, to: Socket) => {
      live.add(from);
      from.on('data', (chunk) => {
        if (!pair.frozen) to.write(chunk);
      });
      from.on('error', () => undefined);
      from.on('close', () => {
        live.delete(from);
        open.delete(pair);
        if (!pair.frozen) to.destroy();
      });
    };
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    freeze: () => {
      for (const pair of open) pair.frozen = true;
    },
    refuseNew: (on) => {
      refusing = on;
    },
    retarget: (port) => {
      target = port;
    },
    upstreamPorts: () => {
      const ports = new Set<number>();
      for (const pair of open) if (pair.upstream.localPort !== undefined) ports.add(pair.upstream.localPort);
      return ports;
    },
    close: async () => {
      for (const s of live) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};
