/**
 * The fault proxy (bench/fault-proxy.ts) against a real TCP echo server: each mode does what it
 * says, seen from a real client socket.
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FaultProxy, startFaultProxy } from "../../bench/fault-proxy.ts";

let echo: Server;
let echoPort = 0;
let echoConnections = 0;
let echoBytes = 0;
let proxy: FaultProxy;
const sockets: Socket[] = [];

beforeAll(async () => {
  echo = createServer((s) => {
    echoConnections++;
    s.on("error", () => {});
    s.on("data", (d: Buffer) => {
      echoBytes += d.length;
    });
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  echoPort = (echo.address() as AddressInfo).port;
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await proxy?.close();
});

afterAll(async () => {
  await new Promise<void>((r) => echo.close(() => r()));
});

/** A client of the proxy; resolves once connected, rejects with the connection error. */
function client(port = proxy.port): Promise<Socket & { received: () => string; error: () => Error | undefined }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    sockets.push(s);
    let got = "";
    let err: Error | undefined;
    s.on("data", (d: Buffer) => {
      got += d.toString();
    });
    s.on("error", (e) => {
      err = e;
      reject(e);
    });
    s.on("connect", () => resolve(Object.assign(s, { received: () => got, error: () => err })));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 2000): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`not true within ${ms} ms`);
    await sleep(5);
  }
  return performance.now() - t0;
}

describe("fault proxy", () => {
  it("passes bytes both ways and counts connections", async () => {
    proxy = await startFaultProxy({ host: "127.0.0.1", port: echoPort });
    const before = echoConnections;
    const a = await client();
    const b = await client();
    a.write("hello");
    b.write("world");
    await until(() => a.received() === "hello" && b.received() === "world");
    expect(proxy.accepted()).toBe(2);
    expect(proxy.open()).toBe(2);
    expect(echoConnections - before).toBe(2);
    a.end();
    await until(() => proxy.open() === 1);
  });

  it("freeze: accepts and keeps connections, forwards nothing, then delivers what it held", async () => {
    proxy = await startFaultProxy({ host: "127.0.0.1", port: echoPort });
    const a = await client();
    await proxy.freeze();
    a.write("held");
    const late = await client(); // accepted while frozen
    late.write("late");
    await sleep(300);
    expect(a.received()).toBe("");
    expect(late.received()).toBe("");
    expect(a.destroyed || late.destroyed).toBe(false);
    expect(proxy.open()).toBe(2);
    await proxy.pass();
    await until(() => a.received() === "held" && late.received() === "late");
  });

  it('freeze("toClient"): requests reach the service, answers are held until pass', async () => {
    proxy = await startFaultProxy({ host: "127.0.0.1", port: echoPort });
    const a = await client();
    await proxy.freeze("toClient");
    const before = echoBytes;
    a.write("request");
    await until(() => echoBytes - before === "request".length);
    await sleep(200);
    expect(a.received()).toBe("");
    await proxy.pass();
    await until(() => a.received() === "request");
  });

  it("slow(ms): each chunk arrives ms later, in order", async () => {
    proxy = await startFaultProxy({ host: "127.0.0.1", port: echoPort });
    const a = await client();
    a.write("x");
    const fast = await until(() => a.received() === "x");
    await proxy.slow(150);
    const t0 = performance.now();
    a.write("1");
    await sleep(20);
    a.write("2");
    await until(() => a.received() === "x12");
    const slowMs = performance.now() - t0;
    // 150 ms each way; the second chunk was written 20 ms after the first.
    expect(slowMs).toBeGreaterThanOrEqual(300);
    expect(slowMs).toBeLessThan(1500);
    expect(fast).toBeLessThan(150);
  });

  it("refuse: new connections get ECONNREFUSED, open ones ECONNRESET; pass listens again on the same port", async () => {
    proxy = await startFaultProxy({ host: "127.0.0.1", port: echoPort });
    const port = proxy.port;
    const a = await client();
    await proxy.refuse();
    await until(() => a.error() !== undefined);
    expect((a.error() as NodeJS.ErrnoException).code).toBe("ECONNRESET");
    await expect(client()).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(proxy.open()).toBe(0);
    await proxy.pass();
    expect(proxy.port).toBe(port);
    const b = await client();
    b.write("back");
    await until(() => b.received() === "back");
  });

  it("reset: every open connection gets ECONNRESET; new ones still work", async () => {
    proxy = await startFaultProxy({ host: "127.0.0.1", port: echoPort });
    const a = await client();
    const b = await client();
    await proxy.reset();
    await until(() => a.error() !== undefined && b.error() !== undefined);
    expect((a.error() as NodeJS.ErrnoException).code).toBe("ECONNRESET");
    expect(proxy.mode()).toEqual({ kind: "pass" });
    const c = await client();
    c.write("again");
    await until(() => c.received() === "again");
    expect(proxy.accepted()).toBe(3);
  });

  it("passes a reset of the service on to the client", async () => {
    const server = createServer((s) => s.on("data", () => s.resetAndDestroy()));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    proxy = await startFaultProxy({ host: "127.0.0.1", port: (server.address() as AddressInfo).port });
    const a = await client();
    a.write("x");
    await until(() => a.error() !== undefined);
    expect((a.error() as NodeJS.ErrnoException).code).toBe("ECONNRESET");
    await new Promise<void>((r) => server.close(() => r()));
  });
});
