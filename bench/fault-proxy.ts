/**
 * A TCP proxy on loopback in front of any TCP service (Postgres, Redis, ...) that can be made to
 * fail on demand, for fault tests and `npm run bench:faults`. AOS connects to
 * `127.0.0.1:<proxy.port>` instead of the service; the test switches the mode while requests run:
 *
 * - `pass()`     forward both ways as they come (the start mode).
 * - `freeze()`   the network stops delivering: new connections are still accepted and every
 *                connection stays open, but no byte (nor a close) goes either way. Bytes are held,
 *                not dropped: `pass()` delivers them in order, as a healed network would.
 *                `freeze("toClient")` holds only what the service sends (requests still arrive,
 *                answers do not), `freeze("toService")` only what clients send.
 * - `slow(ms)`   each chunk is forwarded `ms` after it arrived (order kept, both directions).
 * - `refuse()`   the service is down: the proxy stops listening, so a new connection gets
 *                ECONNREFUSED (not a reset), and every open connection is reset (RST, the client
 *                sees ECONNRESET). Any other mode listens again, on the same port.
 * - `reset()`    reset (RST, `socket.resetAndDestroy()`) every open connection now; the mode stays.
 * - `close()`    stop for good.
 *
 * `accepted()` counts connections since the start, `open()` those open now.
 *
 * It lives in bench/ because `npm run bench:faults` uses it and bench/ may not import test/;
 * tests import it from here (as they import bench/cold-start.ts).
 *
 * @example
 *   const proxy = await startFaultProxy({ host: "127.0.0.1", port: 5432 });
 *   setConfig({ DATABASE_URL: `postgres://postgres@127.0.0.1:${proxy.port}/db` });
 *   await proxy.freeze();   // requests now wait for the statement / connect timeouts
 *   await proxy.pass();
 */
import { type AddressInfo, createServer, connect as netConnect, type Server, type Socket } from "node:net";

export type Direction = "both" | "toClient" | "toService";
export type FaultMode =
  | { kind: "pass" }
  | { kind: "freeze"; direction: Direction }
  | { kind: "slow"; ms: number }
  | { kind: "refuse" };

export interface FaultProxy {
  readonly port: number;
  /** `host:port` of the proxy, for a connection URL. */
  readonly address: string;
  mode(): FaultMode;
  pass(): Promise<void>;
  freeze(direction?: Direction): Promise<void>;
  slow(ms: number): Promise<void>;
  refuse(): Promise<void>;
  reset(): Promise<void>;
  close(): Promise<void>;
  /** Connections accepted since the start. */
  accepted(): number;
  /** Connections open now. */
  open(): number;
}

/** What waits to go one way: bytes, or the sender's end (half-close). */
type Held = Buffer | "end";

/** One direction of one connection. */
interface Lane {
  toward: "toClient" | "toService";
  from: Socket;
  to: Socket;
  held: Held[];
  /** Chunks handed to a timer (slow mode) and not yet written. */
  scheduled: number;
}

interface Connection {
  client: Socket;
  upstream: Socket;
  lanes: [Lane, Lane];
}

function hardReset(s: Socket): void {
  if (s.destroyed) return;
  try {
    s.resetAndDestroy();
  } catch {
    s.destroy();
  }
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  let current: FaultMode = { kind: "pass" };
  let accepted = 0;
  let closed = false;
  const conns = new Set<Connection>();
  let server: Server | undefined;
  let port = 0;

  const frozen = (lane: Lane) =>
    current.kind === "freeze" && (current.direction === "both" || current.direction === lane.toward);

  const deliver = (lane: Lane, item: Held) => {
    if (lane.to.destroyed) return;
    if (item === "end") lane.to.end();
    else if (!lane.to.write(item)) {
      lane.from.pause();
      lane.to.once("drain", () => {
        if (!frozen(lane)) lane.from.resume();
      });
    }
  };

  /**
   * Send what a lane holds, as the mode allows. In slow mode each chunk gets its own timer (all
   * the same length, so they fire in order); back in pass mode, held chunks wait for those timers
   * so the order is kept.
   */
  const pump = (lane: Lane) => {
    while (lane.held.length > 0) {
      if (frozen(lane) || current.kind === "refuse") return;
      if (current.kind === "pass" && lane.scheduled > 0) return;
      const item = lane.held.shift() as Held;
      if (current.kind === "slow") {
        lane.scheduled++;
        setTimeout(() => {
          lane.scheduled--;
          deliver(lane, item);
          if (lane.scheduled === 0) pump(lane);
        }, current.ms);
      } else deliver(lane, item);
    }
  };

  const lane = (toward: Lane["toward"], from: Socket, to: Socket): Lane => {
    const l: Lane = { toward, from, to, held: [], scheduled: 0 };
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      l.held.push("end");
      pump(l);
    };
    from.on("data", (chunk: Buffer) => {
      l.held.push(chunk);
      if (frozen(l)) from.pause();
      pump(l);
    });
    // A half-close travels as such; a socket gone without one ends its lane all the same, once
    // what the lane holds is delivered.
    from.on("end", end);
    from.on("close", end);
    return l;
  };

  const onConnection = (client: Socket) => {
    if (current.kind === "refuse" || closed) return hardReset(client);
    accepted++;
    const upstream = netConnect({ host: target.host, port: target.port, allowHalfOpen: true });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const conn: Connection = {
      client,
      upstream,
      lanes: [lane("toService", client, upstream), lane("toClient", upstream, client)],
    };
    for (const l of conn.lanes) if (frozen(l)) l.from.pause();
    conns.add(conn);
    // A reset (or a refused upstream) on one side is passed on to the other as a reset.
    const onError = () => {
      hardReset(client);
      hardReset(upstream);
    };
    client.on("error", onError);
    upstream.on("error", onError);
    const onClose = () => {
      if (client.destroyed && upstream.destroyed) conns.delete(conn);
    };
    client.on("close", onClose);
    upstream.on("close", onClose);
  };

  const listen = async (at: number) => {
    const s = createServer({ allowHalfOpen: true }, onConnection);
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(at, "127.0.0.1", () => {
        s.removeListener("error", reject);
        resolve();
      });
    });
    server = s;
    port = (s.address() as AddressInfo).port;
  };

  /** Stop listening at once (new connections are refused from here); resolves once the listener is gone. */
  const stopListening = (): Promise<void> => {
    const s = server;
    server = undefined;
    if (!s) return Promise.resolve();
    // close() unlistens now but calls back only once every accepted socket closed: reset them after.
    return new Promise<void>((resolve) => s.close(() => resolve()));
  };

  const resetAll = () => {
    for (const c of conns) {
      hardReset(c.client);
      hardReset(c.upstream);
    }
    conns.clear();
  };

  /** Switch to a mode that forwards or holds; listen again after `refuse()`. */
  const become = async (m: FaultMode) => {
    if (closed) throw new Error("the fault proxy is closed");
    current = m;
    if (!server) await listen(port);
    for (const c of conns) {
      for (const l of c.lanes) {
        if (frozen(l)) l.from.pause();
        else {
          l.from.resume();
          pump(l);
        }
      }
    }
  };

  await listen(0);
  return {
    get port() {
      return port;
    },
    get address() {
      return `127.0.0.1:${port}`;
    },
    mode: () => current,
    pass: () => become({ kind: "pass" }),
    freeze: (direction: Direction = "both") => become({ kind: "freeze", direction }),
    slow: (ms: number) => become({ kind: "slow", ms }),
    async refuse() {
      if (closed) throw new Error("the fault proxy is closed");
      current = { kind: "refuse" };
      const stopped = stopListening();
      resetAll();
      await stopped;
    },
    async reset() {
      resetAll();
    },
    async close() {
      if (closed) return;
      closed = true;
      const stopped = stopListening();
      resetAll();
      await stopped;
    },
    accepted: () => accepted,
    open: () => conns.size,
  };
}
