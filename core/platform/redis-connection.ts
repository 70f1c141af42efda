/**
 * The connection under AOS's Redis client (redis-client.ts): one socket, RESP2, replies matched
 * to commands in order, and the bounds on every wait. Every command (or pipeline) has a deadline
 * (`commandTimeoutMs`, connecting included); when it passes, or the connection fails, every
 * command in flight fails at once with a `RedisUnavailableError` and commands are refused for
 * `backoffMs` without touching the network, so a frozen or refusing Redis costs a request at
 * most one deadline, not one per command. The first command after the backoff reconnects.
 */
import { createHash } from "node:crypto";
import * as net from "node:net";
import * as tls from "node:tls";
import { type Arg, encodeCommand, RedisReplyError, type Reply, ReplyParser } from "./redis-resp.ts";

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
export interface Queued {
  args: Arg[];
  map?: (reply: Reply) => unknown;
  script?: RedisScript;
}

export class RedisConnection {
  private readonly target: Target;
  private socket: net.Socket | undefined;
  /** Incremented per connection: events of a dropped connection are ignored. */
  private generation = 0;
  private pending: Pending[] = [];
  private head = 0;
  protected scriptsLoaded = new Set<string>();
  private downUntil = 0;
  private closing = false;

  constructor(
    url: string,
    protected readonly opts: RedisClientOptions,
  ) {
    this.target = parseUrl(url);
  }

  /** Send one command as given (no prefix). Rejects with RedisReplyError for an error reply. */
  async call(args: readonly Arg[]): Promise<Reply> {
    const [r] = await this.send([{ args: [...args] }]);
    const reply = r as Reply;
    if (reply instanceof RedisReplyError) throw reply;
    return reply;
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
