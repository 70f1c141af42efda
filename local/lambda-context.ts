/**
 * A Lambda `Context` shaped like the one the Node.js runtime passes: names and ARNs as SST
 * would deploy them, a fresh `awsRequestId` per invocation, and `getRemainingTimeInMillis()`
 * counting down from the function's timeout.
 */
import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";

export const LOCAL_ACCOUNT_ID = "000000000000";

export interface FunctionSpec {
  /** `functions/http/keys/revoke.handler`, as in routes.ts. */
  handler: string;
  /** Lambda timeout in seconds. */
  timeoutS: number;
  memoryMb?: number;
}

export interface ContextOptions {
  app: string;
  stage: string;
  region: string;
  /** Milliseconds since the epoch at which the invocation started (default: now). */
  startedAt?: number;
}

/** `functions/http/keys/revoke.handler` -> `aos-dev-http-keys-revoke` (Lambda allows 64 characters). */
export function functionName(handler: string, app: string, stage: string): string {
  const path = handler.slice(0, handler.lastIndexOf(".")).replace(/^functions\//, "");
  return `${app}-${stage}-${path.replace(/[^A-Za-z0-9-]+/g, "-")}`.slice(0, 64);
}

export function createLambdaContext(fn: FunctionSpec, o: ContextOptions): Context {
  const name = functionName(fn.handler, o.app, o.stage);
  const deadline = (o.startedAt ?? Date.now()) + fn.timeoutS * 1000;
  const day = new Date().toISOString().slice(0, 10).replaceAll("-", "/");
  const unsupported = (what: string) => () => {
    throw new Error(`context.${what}() is not supported: return a value or a promise`);
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${o.region}:${LOCAL_ACCOUNT_ID}:function:${name}`,
    memoryLimitInMB: String(fn.memoryMb ?? 1024),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: `${day}/[$LATEST]${randomUUID().replaceAll("-", "")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported("done"),
    fail: unsupported("fail"),
    succeed: unsupported("succeed"),
  };
}
