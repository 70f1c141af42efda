/**
 * core/platform/redis-client.ts against the harness's real Redis, and against real TCP servers
 * that misbehave: one that accepts and never answers, a closed port, one that resets, and a relay
 * to Redis that splits every reply into single bytes.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { config } from "../../core/config.ts";
import { RedisClient, RedisScript, RedisUnavailableError } from "../../core/platform/redis-client.ts";
import { encodeCommand, RedisReplyError, type Reply, ReplyParser } from "../../core/platform/redis-resp.ts";
import { closedPort } from "../setup/net.ts";

const clients: RedisClient[] = [];
const servers: Server[] = [];
const sockets = new Set<Socket>();

afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  for (const s of sockets) s.destroy();
  sockets.clear();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

const prefix = () => `${config().redisPrefix}rc-test:`;

// 2 s, as every test file's client (test/setup/per-file.ts): a dozen workers share two cores, and a
// real Redis can take longer than production's 200 ms to answer. The tests of the deadline set theirs.
function client(url = config().redisUrl, over: Partial<{ commandTimeoutMs: number; backoffMs: number }> = {}) {
  const c = new RedisClient(url, { keyPrefix: prefix(), commandTimeoutMs: 2000, backoffMs: 0, ...over });
  clients.push(c);
  return c;
}

async function server(onConnection: (s: Socket) => void): Promise<number> {
  const srv = createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
    onConnection(s);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  servers.push(srv);
  return (srv.address() as { port: number }).port;
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe("the codec", () => {
  it("encodes a command as an array of bulk strings, byte lengths counted in UTF-8", () => {
    expect(encodeCommand(["SET", "k", "é", 12]).toString()).toBe(
      "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n$2\r\n12\r\n",
    );
    const withBuffer = encodeCommand(["SET", Buffer.from([0, 1]), "x"]);
    expect(withBuffer).toEqual(
      Buffer.concat([Buffer.from("*3\r\n$3\r\nSET\r\n$2\r\n"), Buffer.from([0, 1]), Buffer.from("\r\n$1\r\nx\r\n")]),
    );
  });

  it("parses every reply type, whatever the chunking", () => {
    const wire = Buffer.from(
      "+OK\r\n-ERR wrong\r\n:42\r\n$4\r\nhé!\r\n$-1\r\n*3\r\n:1\r\n*2\r\n$1\r\na\r\n$0\r\n\r\n*-1\r\n*0\r\n",
    );
    const expected = ["OK", "ERR wrong", 42, "hé!", null, [1, ["a", ""], null], []];
    for (const size of [1, 2, 3, 7, wire.length]) {
      const out: Reply[] = [];
      const p = new ReplyParser((r) => out.push(r));
      for (let i = 0; i < wire.length; i += size) p.feed(wire.subarray(i, i + size));
      expect(out.map((r) => (r instanceof RedisReplyError ? r.message : r))).toEqual(expected);
      expect(out[1]).toBeInstanceOf(RedisReplyError);
      expect((out[1] as RedisReplyError).prefix).toBe("ERR");
    }
  });

  it("refuses an unknown type byte", () => {
    const p = new ReplyParser(() => {});
    expect(() => p.feed(Buffer.from("?what\r\n"))).toThrow(/protocol error/);
  });
});

describe("against Redis", () => {
  it("runs the typed commands with the key prefix", async () => {
    const c = client();
    expect(await c.set("a", "1")).toBe("OK");
    expect(await c.set("a", "2", "NX")).toBeNull();
    expect(await c.set("t", "x", "EX", 100)).toBe("OK");
    expect(await c.get("a")).toBe("1");
    expect(await c.get("missing")).toBeNull();
    expect(await c.mget("a", "missing", "t")).toEqual(["1", null, "x"]);
    expect(await c.exists("a", "t", "missing")).toBe(2);
    expect(await c.ttl("t")).toBeGreaterThan(90);
    expect(await c.hset("h", "f", "v")).toBe(1);
    expect(await c.hgetall("h")).toEqual({ f: "v" });
    expect(await c.hgetall("missing")).toEqual({});
    // The prefix is on the stored key: a raw call sees it.
    expect(await c.call(["GET", `${prefix()}a`])).toBe("1");
    expect(await c.del("a", "t", "h")).toBe(3);
    expect(await c.ping()).toBe("PONG");
  });

  it("answers an error reply as RedisReplyError, and the connection goes on", async () => {
    const c = client();
    await c.set("s", "text");
    const err = await failure(c.call(["INCR", c.key("s")]));
    expect(err).toBeInstanceOf(RedisReplyError);
    expect((err as RedisReplyError).message).toMatch(/not an integer/);
    expect(await c.get("s")).toBe("text");
  });

  it("sends a pipeline in one write and answers [error, value] per command, in order", async () => {
    const c = client();
    await c.hset("p", "x", "1");
    await c.set("str", "v");
    const res = await c
      .pipeline()
      .hgetall("p")
      .call(["INCR", c.key("str")])
      .call(["GET", c.key("str")])
      .exec();
    expect(res[0]).toEqual([null, { x: "1" }]);
    expect(res[1]?.[0]).toBeInstanceOf(RedisReplyError);
    expect(res[2]).toEqual([null, "v"]);
  });

  it("runs a script as EVAL first and EVALSHA after, and survives SCRIPT FLUSH", async () => {
    const c = client();
    const script = new RedisScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`);
    expect(await c.eval(script, ["n"], [2])).toBe(2);
    expect(await c.eval(script, ["n"], [3])).toBe(5);
    await c.call(["SCRIPT", "FLUSH"]);
    expect(await c.eval(script, ["n"], [1])).toBe(6); // NOSCRIPT -> EVAL with the body
    const pipe = await c.pipeline().eval(script, ["n"], [1]).eval(script, ["n"], [1]).exec();
    expect(pipe).toEqual([
      [null, 7],
      [null, 8],
    ]);
    expect(await c.get("n")).toBe("8");
  });

  it("keeps replies matched to their commands under many concurrent callers", async () => {
    const c = client();
    const n = 500;
    await Promise.all(Array.from({ length: n }, (_, i) => c.set(`k${i}`, `v${i}`)));
    const got = await Promise.all(Array.from({ length: n }, (_, i) => c.get(`k${i}`)));
    expect(got).toEqual(Array.from({ length: n }, (_, i) => `v${i}`));
  });

  it("reads replies that arrive one byte at a time", async () => {
    const target = new URL(config().redisUrl);
    const port = await server((down) => {
      const up = connect(Number(target.port || 6379), target.hostname);
      up.on("error", () => {});
      down.on("data", (d) => up.write(d));
      up.on("data", async (d: Buffer) => {
        for (const byte of d) down.write(Buffer.from([byte]));
      });
      down.on("close", () => up.destroy());
    });
    const c = client(`redis://127.0.0.1:${port}`);
    await c.set("big", "x".repeat(10_000));
    expect(await c.get("big")).toBe("x".repeat(10_000));
    expect(await c.mget("big", "none")).toEqual(["x".repeat(10_000), null]);
  });

  it("authenticates and selects the database named in the URL", async () => {
    const u = new URL(config().redisUrl);
    // The harness's Redis has only the default user (any password): a user it does not know is
    // refused, which proves AUTH went first, and a refused AUTH fails the command clearly.
    const c = client(`redis://nobody:wrong@${u.host}/0`);
    const err = await failure(c.get("x"));
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect((err as Error).message).toMatch(/Redis refused AUTH/);
    const db3 = client(`redis://${u.host}/3`);
    await db3.set("in3", "yes");
    expect(await client().get("in3")).toBeNull();
    expect(await db3.get("in3")).toBe("yes");
    await db3.del("in3");
  });
});

describe("streams (the agents' wake-ups)", () => {
  it("xaddCapped appends with a TTL; xlastId answers the newest id, 0-0 for none", async () => {
    const c = client();
    const key = `wake-${Date.now()}`;
    expect(await c.xlastId(key)).toBe("0-0");
    const id1 = await c.xaddCapped(key, 4, 60, { at: "1" });
    const id2 = await c.xaddCapped(key, 4, 60, { at: "2" });
    expect(await c.xlastId(key)).toBe(id2);
    expect(id2 > id1 || id2.length > id1.length).toBe(true);
    const ttl = await c.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
    for (let i = 0; i < 50; i++) await c.xaddCapped(key, 4, 60, { at: String(i) });
    expect(Number(await c.call(["XLEN", c.key(key)]))).toBe(4); // capped
  });

  it("a stream as a queue (costsim's shadow requests): xadd appends, xrange reads the oldest first, xdel removes, xlen counts", async () => {
    const c = client();
    const key = `queue-${Date.now()}`;
    expect(await c.xrange(key, 10)).toEqual([]);
    expect(await c.xlen(key)).toBe(0);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await c.xadd(key, 1000, { m: `r${i}` }));
    const head = await c.xrange(key, 3);
    expect(head).toEqual(ids.slice(0, 3).map((id, i) => ({ id, fields: { m: `r${i}` } })));
    expect(await c.xdel(key, [head[0]?.id as string, head[2]?.id as string])).toBe(2);
    expect(await c.xdel(key, [])).toBe(0);
    expect((await c.xrange(key, 10)).map((e) => e.fields.m)).toEqual(["r1", "r3", "r4"]);
    expect(await c.xlen(key)).toBe(3);
    // Stored under the client's prefix, and with no TTL (the queue outlives an idle hour).
    expect(Number(await c.call(["XLEN", c.key(key)]))).toBe(3);
    expect(await c.ttl(key)).toBe(-1);
  });

  it("xreadBlock returns an entry added while it waits (with its fields), and none when its block ends (past the command deadline)", async () => {
    const writer = client();
    // A deadline well under both blocks (5 s, then 400 ms), so the block is what bounds the wait; and
    // 300 ms of slack past the block, not less: under CI's load Redis's answer to an ended block
    // once came more than 100 ms late.
    const waiter = client(config().redisUrl, { commandTimeoutMs: 300 });
    const key = `wake-${Date.now()}-b`;
    const from = await writer.xlastId(key);
    const started = Date.now();
    const woken = waiter.xreadBlock(key, from, 5000);
    await new Promise((r) => setTimeout(r, 150));
    const id = await writer.xaddCapped(key, 4, 60, { at: "x" });
    expect(await woken).toEqual([{ id, fields: { at: "x" } }]);
    expect(Date.now() - started).toBeLessThan(2000);
    const quiet = Date.now();
    expect(await waiter.xreadBlock(key, id, 400)).toEqual([]);
    expect(Date.now() - quiet).toBeGreaterThanOrEqual(350);
  });

  it("xreadBlock from an id older than the newest answers at once (an entry written before the block is not missed)", async () => {
    const c = client();
    const key = `wake-${Date.now()}-c`;
    const before = await c.xlastId(key);
    const id = await c.xaddCapped(key, 4, 60, { at: "early" });
    const started = Date.now();
    expect((await c.xreadBlock(key, before, 5000)).map((e) => e.id)).toEqual([id]);
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe("bounded waits", () => {
  it("fails every command in flight at the deadline when Redis accepts and never answers", async () => {
    const port = await server(() => {});
    const c = client(`redis://127.0.0.1:${port}`, { commandTimeoutMs: 150 });
    const t0 = performance.now();
    const errs = await Promise.all([
      failure(c.get("a")),
      failure(c.get("b")),
      failure(c.pipeline().hgetall("h").exec()),
    ]);
    const took = performance.now() - t0;
    for (const e of errs) expect(e).toMatchObject({ name: "RedisUnavailableError", reason: "timeout" });
    expect(took).toBeGreaterThanOrEqual(140);
    expect(took).toBeLessThan(400);
  });

  it("fails at once on a refused connection, then backs off without touching the network", async () => {
    const port = await closedPort();
    const c = client(`redis://127.0.0.1:${port}`, { backoffMs: 300 });
    const t0 = performance.now();
    expect(await failure(c.get("a"))).toMatchObject({ reason: "connect" });
    expect(await failure(c.get("a"))).toMatchObject({ reason: "backoff" });
    expect(performance.now() - t0).toBeLessThan(150);
  });

  it("fails the commands of a connection the server resets, and reconnects on the next one", async () => {
    const target = new URL(config().redisUrl);
    let reset = false;
    const port = await server((down) => {
      const up = connect(Number(target.port || 6379), target.hostname);
      up.on("error", () => {});
      down.on("data", (d) => (reset ? down.resetAndDestroy() : up.write(d)));
      up.on("data", (d) => down.write(d));
      down.on("close", () => up.destroy());
    });
    const c = client(`redis://127.0.0.1:${port}`);
    await c.set("r", "1");
    reset = true;
    expect(await failure(c.get("r"))).toBeInstanceOf(RedisUnavailableError);
    reset = false;
    expect(await c.get("r")).toBe("1"); // backoff 0: the next command reconnects
  });

  it("recovers by itself once the backoff has passed", async () => {
    const srvPort = await closedPort();
    // First point at a closed port, then start a relay to Redis on that very port.
    const c = client(`redis://127.0.0.1:${srvPort}`, { backoffMs: 200 });
    expect(await failure(c.ping())).toMatchObject({ reason: "connect" });
    const target = new URL(config().redisUrl);
    const relay = createServer((down) => {
      sockets.add(down);
      const up = connect(Number(target.port || 6379), target.hostname);
      up.on("error", () => {});
      down.on("error", () => {});
      down.pipe(up).pipe(down);
    });
    await new Promise<void>((r) => relay.listen(srvPort, "127.0.0.1", r));
    servers.push(relay);
    expect(await failure(c.ping())).toMatchObject({ reason: "backoff" });
    await new Promise((r) => setTimeout(r, 250));
    expect(await c.ping()).toBe("PONG");
  });

  it("rejects a command after disconnect, and quit never waits past the deadline", async () => {
    const port = await server(() => {});
    const c = client(`redis://127.0.0.1:${port}`, { commandTimeoutMs: 100 });
    const t0 = performance.now();
    const inFlight = failure(c.get("a"));
    await c.quit();
    expect(performance.now() - t0).toBeLessThan(300);
    expect(await inFlight).toMatchObject({ reason: "timeout" });
    expect(await failure(c.get("a"))).toMatchObject({ reason: "closed" });
  });
});
