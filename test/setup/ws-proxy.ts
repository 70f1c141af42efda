/**
 * A WebSocket-to-TCP proxy on loopback, so Neon's serverless driver (WebSocket Pool) can talk to
 * the local Postgres the way it talks to Neon's own proxy. Pass `wsProxy` to
 * `createPool({ driver: "neon", neonWsProxy: proxy.wsProxy })`; stack-facts.md "Neon" lists the
 * other neonConfig settings that pool.ts applies with it (no TLS, no pipelining).
 *
 * Only loopback targets are forwarded: this must never become an open proxy.
 */

import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { WebSocketServer } from "ws";

export interface WsProxy {
  port: number;
  /** For `neonConfig.wsProxy`: where the driver opens its WebSocket for database host:port. */
  wsProxy: (host: string, port: number | string) => string;
  /** WebSocket connections accepted so far (tests prove the driver really came through here). */
  connections: () => number;
  close(): Promise<void>;
}

const loopback = new Set(["127.0.0.1", "localhost", "::1"]);

export async function startWsProxy(): Promise<WsProxy> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => wss.once("listening", resolve));
  let connections = 0;
  wss.on("connection", (ws, req) => {
    const address = new URL(req.url ?? "/", "http://proxy").searchParams.get("address") ?? "";
    const at = address.lastIndexOf(":");
    const host = address.slice(0, at);
    const port = Number(address.slice(at + 1));
    if (!loopback.has(host) || !Number.isInteger(port)) return ws.close(1008, "only loopback targets");
    connections++;
    const tcp = connect(port, host);
    ws.on("message", (data: Buffer) => tcp.write(data));
    tcp.on("data", (data) => ws.send(data));
    ws.on("close", () => tcp.end());
    tcp.on("close", () => ws.close());
    ws.on("error", () => tcp.destroy());
    tcp.on("error", () => ws.terminate());
  });
  const { port } = wss.address() as AddressInfo;
  return {
    port,
    wsProxy: (host, dbPort) => `127.0.0.1:${port}/v2?address=${host}:${dbPort}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}
