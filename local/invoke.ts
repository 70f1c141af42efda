/**
 * Load handlers by their routes.ts name and invoke them the way the Lambda runtime does: one
 * event, a fresh context, the function's timeout enforced. Every invocation is tracked until it
 * settles (also one that outlived its timeout: Node cannot kill it), so shutdown can wait.
 */
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Context } from "aws-lambda";
import { handlerFile } from "../functions/routes.ts";
import { type ContextOptions, createLambdaContext, type FunctionSpec } from "./lambda-context.ts";

export type LambdaHandler = (
  event: unknown,
  context: Context,
  callback?: (err?: unknown, result?: unknown) => void,
) => unknown;
export type HandlerLoader = (handler: string) => Promise<LambdaHandler>;

/** Same as stacks/function.ts: what a route without `timeoutS` / `memoryMb` gets when deployed. */

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/**
 * Imports `functions/http/health/get.ts` for `functions/http/health/get.handler`, on first use
 * only, so a handler that does not exist yet breaks its own route, not the whole runtime.
 */
export function createHandlerLoader(root = repoRoot): HandlerLoader {
  const cache = new Map<string, Promise<LambdaHandler>>();
  return (handler) => {
    let p = cache.get(handler);
    if (!p) {
      const exportName = handler.slice(handler.lastIndexOf(".") + 1);
      p = import(pathToFileURL(join(root, handlerFile(handler))).href).then((mod: Record<string, unknown>) => {
        const fn = mod[exportName];
        if (typeof fn !== "function") throw new Error(`${handlerFile(handler)} exports no function "${exportName}"`);
        return fn as LambdaHandler;
      });
      // A failed import (syntax error being fixed) is retried on the next invocation.
      p.catch(() => cache.delete(handler));
      cache.set(handler, p);
    }
    return p;
  };
}

export type Outcome =
  | { status: "ok"; result: unknown; context: Context }
  | { status: "error"; error: unknown; context: Context }
  | { status: "timeout"; context: Context };

export class Invoker {
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly loadHandler: HandlerLoader,
    private readonly contextOptions: Omit<ContextOptions, "startedAt">,
  ) {}

  /** Invocations not yet settled. */
  get inFlight(): number {
    return this.running.size;
  }

  /**
   * Run the handler. `waitS` (default: the function's timeout) is how long the caller waits: API
   * Gateway gives up after 30 s even when the function may run longer.
   */
  async invoke(fn: FunctionSpec, event: unknown, waitS = fn.timeoutS): Promise<Outcome> {
    const context = createLambdaContext(fn, { ...this.contextOptions, startedAt: Date.now() });
    const run = this.loadHandler(fn.handler).then((handler) => callHandler(handler, event, context));
    const tracked = run.catch(() => {}).finally(() => this.running.delete(tracked));
    this.running.add(tracked);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.min(waitS, fn.timeoutS) * 1000);
    });
    try {
      const r = await Promise.race([run.then((result) => ({ result })), timeout]);
      if (r === "timeout") return { status: "timeout", context };
      return { status: "ok", result: r.result, context };
    } catch (error) {
      return { status: "error", error, context };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Wait until every invocation settled or `ms` passed; returns how many are still running. */
  async drain(ms: number): Promise<number> {
    const until = Date.now() + ms;
    while (this.running.size > 0 && Date.now() < until) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.running]),
        new Promise((r) => {
          timer = setTimeout(r, until - Date.now());
        }),
      ]);
      clearTimeout(timer);
    }
    return this.running.size;
  }
}

/** Promise handlers, and callback-style ones (three parameters), as the Node.js runtime allows. */
function callHandler(handler: LambdaHandler, event: unknown, context: Context): Promise<unknown> {
  if (handler.length >= 3) {
    return new Promise((resolve, reject) => {
      const out = handler(event, context, (err, result) => (err ? reject(err) : resolve(result)));
      if (out && typeof (out as Promise<unknown>).then === "function") (out as Promise<unknown>).then(resolve, reject);
    });
  }
  return Promise.resolve().then(() => handler(event, context));
}
