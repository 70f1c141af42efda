/**
 * AOS's Redis client: one connection, RESP2, pipelining, and bounds on every wait.
 *
 * Redis is a cache and a coordination aid for AOS, never the place a request waits on: every
 * command (or pipeline) has a deadline (`commandTimeoutMs`, connecting included); when it
 * passes, or the connection fails, every command in flight fails at once with a
 * `RedisUnavailableError` and the client refuses commands for `backoffMs` without touching the
 * network, so a frozen or refusing Redis costs a request at most one deadline, not one per
 * command. The first command after the backoff reconnects: recovery needs nobody.
 *
 * Keys given to the typed methods get the client's `keyPrefix` (the stage's `aos:<stage>:`);
 * `call` sends its arguments as they are. Scripts (`RedisScript`) go as EVAL on a connection's
 * first use and EVALSHA afterwards, as ioredis' `defineCommand` did.
 *
 * Why not ioredis (decision 0004): it and its command table are about 180 KB of every Lambda
 * bundle, most of it cluster and sentinel support AOS does not use; this file and the codec are
 * under 10 KB.
 */
import { createHash } from "node:crypto";
import * as net from "node:net";
import * as tls from "node:tls";
import { type Arg, encodeCommand, RedisReplyError, type Reply, ReplyParser } from "./redis-resp.ts";

export { RedisReplyError } from "./redis-resp.ts";

/** Why a command did not get an answer: no connection, no reply in time, or the client is backing off. */
export type RedisUnavailableReason = "connect" | "timeout" | "closed" | "backoff" | "protocol";

/** Redis could not be asked, or did not answer in time. The command may or may not have run. */
export class RedisUnavailableError extends Error {
  override readonly name = "RedisUnavailableError";
  constructor(
    readonly reason: RedisUnavailableReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RedisClientOptions {
  /** Prepended to every key the typed methods are given. */
  keyPrefix?: string;
  /** Deadline of a command or pipeline, connecting included. */
  commandTimeoutMs: number;
  /** After a failure, commands fail at once for this long. */
  backoffMs: number;
  /** Client name shown by CLIENT LIST. */
  name?: string;
}

/**
 * A Lua script, identified by its SHA-1 so it can be sent as EVALSHA. Declare module-level scripts
 * `/* @__PURE__ *\/ new RedisScript(...)` so a bundle that never runs one drops it.
 */
export class RedisScript {
  private digest: string | undefined;
  constructor(readonly lua: string) {}
  get sha(): string {
    this.digest ??= createHash("sha1").update(this.lua).digest("hex");
    return this.digest;
  }
}

interface Target {
  host: string;
  port: number;
  tls: boolean;
  username?: string;
  password?: string;
  db?: number;
}

function parseUrl(url: string): Target {
  const u = new URL(url);
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new Error(`REDIS_URL must start with redis:// or rediss:// (got ${u.protocol}//)`);
  }
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  return {
    host: u.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1",
    port: u.port ? Number(u.port) : 6379,
    tls: u.protocol === "rediss:",
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: db !== undefined && Number.isInteger(db) && db > 0 ? db : undefined,
  };
}

interface Pending {
  resolve(reply: Reply): void;
  reject(err: Error): void;
}

/**
 * One command of a pipeline: its arguments (for a script: its keys, prefixed, and arguments; EVAL
 * or EVALSHA is chosen when it is written) and how its reply becomes the value returned.
 */
interface Queued {
  args: Arg[];
  map?: (reply: Reply) => unknown;
  script?: RedisScript;
}

const hash = (reply: Reply): Record<string, string> => {
  const out: Record<string, string> = {};
  const flat = (reply ?? []) as string[];
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
};

export class RedisClient {
  private readonly target: Target;
  private readonly prefix: string;
  private socket: net.Socket | undefined;
  /** Incremented per connection: events of a dropped connection are ignored. */
  private generation = 0;
  private pending: Pending[] = [];
  private head = 0;
  private scriptsLoaded = new Set<string>();
  private downUntil = 0;
  private closing = false;

  constructor(
    url: string,
    private readonly opts: RedisClientOptions,
  ) {
    this.target = parseUrl(url);
    this.prefix = opts.keyPrefix ?? "";
  }

  /** The key as stored: with the client's prefix. */
  key(k: string): string {
    return this.prefix + k;
  }

  // ---- typed commands (keys prefixed) ----

  get(key: string): Promise<string | null> {
    return this.call(["GET", this.key(key)]) as Promise<string | null>;
  }
  /** `SET key value [EX s | PX ms] [NX | XX]`: "OK", or null when NX/XX prevented it. */
  set(key: string, value: string, ...options: (string | number)[]): Promise<"OK" | null> {
    return this.call(["SET", this.key(key), value, ...options]) as Promise<"OK" | null>;
  }
  del(...keys: string[]): Promise<number> {
    return this.call(["DEL", ...keys.map((k) => this.key(k))]) as Promise<number>;
  }
  exists(...keys: string[]): Promise<number> {
    return this.call(["EXISTS", ...keys.map((k) => this.key(k))]) as Promise<number>;
  }
  mget(...keys: string[]): Promise<(string | null)[]> {
    return this.call(["MGET", ...keys.map((k) => this.key(k))]) as Promise<(string | null)[]>;
  }
  ttl(key: string): Promise<number> {
    return this.call(["TTL", this.key(key)]) as Promise<number>;
  }
  pttl(key: string): Promise<number> {
    return this.call(["PTTL", this.key(key)]) as Promise<number>;
  }
  hset(key: string, field: string, value: string): Promise<number> {
    return this.call(["HSET", this.key(key), field, value]) as Promise<number>;
  }
  async hgetall(key: string): Promise<Record<string, string>> {
    return hash(await this.call(["HGETALL", this.key(key)]));
  }
  ping(): Promise<string> {
    return this.call(["PING"]) as Promise<string>;
  }
  /** Run a script with its keys (prefixed) and arguments. */
  async eval(script: RedisScript, keys: readonly string[], args: readonly Arg[] = []): Promise<Reply> {
    try {
      const [reply] = await this.send([this.scriptCommand(script, keys, args)]);
      if (reply instanceof RedisReplyError) throw reply;
      return reply as Reply;
    } catch (err) {
      if (!(err instanceof RedisReplyError) || err.prefix !== "NOSCRIPT") throw err;
      // The server lost its script cache (SCRIPT FLUSH, a restart behind a proxy): send the body.
      this.scriptsLoaded.delete(script.sha);
      return this.call(["EVAL", script.lua, keys.length, ...keys.map((k) => this.key(k)), ...args]);
    }
  }

  /** Commands sent together in one write; `exec` answers `[error, value]` per command, in order. */
  pipeline(): RedisPipeline {
    return new RedisPipeline(this);
  }

  // ---- the connection ----

  /** Send one command as given (no prefix). Rejects with RedisReplyError for an error reply. */
  async call(args: readonly Arg[]): Promise<Reply> {
    const [r] = await this.send([{ args: [...args] }]);
    const reply = r as Reply;
    if (reply instanceof RedisReplyError) throw reply;
    return reply;
  }

  /** @internal A script call: `numkeys`, the keys (prefixed) and the arguments; send() puts EVAL or EVALSHA in front. */
  scriptCommand(script: RedisScript, keys: readonly string[], args: readonly Arg[]): Queued {
    return { args: [keys.length, ...keys.map((k) => this.key(k)), ...args], script };
  }

  /** EVAL the first time on this connection (the server caches the body), EVALSHA after. */
  private wire(c: Queued): Arg[] {
    if (!c.script) return c.args;
    const loaded = this.scriptsLoaded.has(c.script.sha);
    return [loaded ? "EVALSHA" : "EVAL", loaded ? c.script.sha : c.script.lua, ...c.args];
  }

  /**
   * @internal Write the commands in one go; resolve with their raw replies (error replies as
   * values). Rejects with RedisUnavailableError when the connection fails or the deadline passes.
   */
  send(commands: readonly Queued[], timeoutMs = this.opts.commandTimeoutMs): Promise<Reply[]> {
    if (this.closing) return Promise.reject(new RedisUnavailableError("closed", "Redis client closed"));
    if (Date.now() < this.downUntil) {
      return Promise.reject(
        new RedisUnavailableError(
          "backoff",
          `Redis failed recently; not retried for ${this.downUntil - Date.now()} ms`,
        ),
      );
    }
    const socket = this.socket ?? this.connect();
    const gen = this.generation;
    return new Promise<Reply[]>((resolve, reject) => {
      const replies: Reply[] = new Array(commands.length);
      let left = commands.length;
      const timer = setTimeout(() => {
        this.fail(gen, new RedisUnavailableError("timeout", `Redis did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      let failed = false;
      commands.forEach((c, i) => {
        this.pending.push({
          resolve: (reply) => {
            if (c.script) {
              if (!(reply instanceof RedisReplyError)) this.scriptsLoaded.add(c.script.sha);
              else if (reply.prefix === "NOSCRIPT") this.scriptsLoaded.delete(c.script.sha);
            }
            replies[i] = reply;
            left -= 1;
            if (left === 0) {
              clearTimeout(timer);
              resolve(replies);
            }
          },
          reject: (err) => {
            clearTimeout(timer);
            if (!failed) reject(err);
            failed = true;
          },
        });
      });
      const bytes =
        commands.length === 1
          ? encodeCommand(this.wire(commands[0] as Queued))
          : Buffer.concat(commands.map((c) => encodeCommand(this.wire(c))));
      socket.write(bytes);
    });
  }

  private connect(): net.Socket {
    const t = this.target;
    const gen = ++this.generation;
    this.scriptsLoaded = new Set();
    const socket = t.tls
      ? tls.connect({ host: t.host, port: t.port, servername: t.host })
      : net.connect({ host: t.host, port: t.port });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    const parser = new ReplyParser((reply) => this.onReply(gen, reply));
    socket.on("data", (chunk: Buffer) => {
      try {
        parser.feed(chunk);
      } catch (err) {
        this.fail(gen, new RedisUnavailableError("protocol", (err as Error).message, { cause: err }));
      }
    });
    socket.on("error", (err) =>
      this.fail(gen, new RedisUnavailableError("connect", `Redis connection failed: ${err.message}`, { cause: err })),
    );
    socket.on("close", () => this.fail(gen, new RedisUnavailableError("closed", "Redis closed the connection")));
    this.socket = socket;
    // Written first, so answered first: a refusal fails the connection and everything queued behind it.
    const setup: Arg[][] = [];
    if (t.password !== undefined) setup.push(t.username ? ["AUTH", t.username, t.password] : ["AUTH", t.password]);
    if (t.db !== undefined) setup.push(["SELECT", t.db]);
    if (this.opts.name) setup.push(["CLIENT", "SETNAME", this.opts.name]);
    for (const args of setup) {
      this.pending.push({
        resolve: (reply) => {
          if (reply instanceof RedisReplyError) {
            this.fail(
              gen,
              new RedisUnavailableError("connect", `Redis refused ${String(args[0])}: ${reply.message}`, {
                cause: reply,
              }),
            );
          }
        },
        reject: () => {},
      });
      socket.write(encodeCommand(args));
    }
    return socket;
  }

  private onReply(gen: number, reply: Reply): void {
    if (gen !== this.generation) return;
    const p = this.pending[this.head];
    if (!p) {
      this.fail(gen, new RedisUnavailableError("protocol", "Redis sent a reply nobody asked for"));
      return;
    }
    this.pending[this.head] = undefined as unknown as Pending;
    this.head += 1;
    if (this.head === this.pending.length) {
      this.pending = [];
      this.head = 0;
    }
    p.resolve(reply);
  }

  /** Drop the connection `gen` (if still current): everything in flight fails with `err`. */
  private fail(gen: number, err: RedisUnavailableError): void {
    if (gen !== this.generation || !this.socket) return;
    const socket = this.socket;
    this.socket = undefined;
    this.generation += 1;
    if (!this.closing) this.downUntil = Date.now() + this.opts.backoffMs;
    const pending = this.pending.slice(this.head);
    this.pending = [];
    this.head = 0;
    socket.destroy();
    for (const p of pending) p.reject(err);
  }

  /** Say QUIT and close; never waits more than the command deadline. */
  async quit(): Promise<void> {
    if (!this.socket) {
      this.closing = true;
      return;
    }
    try {
      await this.call(["QUIT"]);
    } catch {
      // Closed or late: disconnect below.
    }
    this.disconnect();
  }

  /** Close at once; commands in flight fail. */
  disconnect(): void {
    this.closing = true;
    this.fail(this.generation, new RedisUnavailableError("closed", "Redis client closed"));
  }
}

export class RedisPipeline {
  private readonly queued: Queued[] = [];
  constructor(private readonly client: RedisClient) {}

  call(args: readonly Arg[]): this {
    this.queued.push({ args: [...args] });
    return this;
  }
  hgetall(key: string): this {
    this.queued.push({ args: ["HGETALL", this.client.key(key)], map: hash });
    return this;
  }
  eval(script: RedisScript, keys: readonly string[], args: readonly Arg[] = []): this {
    this.queued.push(this.client.scriptCommand(script, keys, args));
    return this;
  }
  get length(): number {
    return this.queued.length;
  }

  /**
   * Send every command in one write. Per command: `[null, value]` or `[RedisReplyError, undefined]`.
   * Rejects (RedisUnavailableError) only when the pipeline as a whole got no answer. `timeoutMs`
   * overrides the client's deadline for a pipeline known to be long (GET /metrics' read).
   */
  async exec(timeoutMs?: number): Promise<[Error | null, unknown][]> {
    if (this.queued.length === 0) return [];
    const replies = await this.client.send(this.queued, timeoutMs);
    return replies.map((reply, i) => {
      if (reply instanceof RedisReplyError) return [reply, undefined];
      const map = this.queued[i]?.map;
      return [null, map ? map(reply) : reply];
    });
  }
}
