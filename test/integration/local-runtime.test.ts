/**
 * The local runtime's HTTP server and SQS poller, in-process, against the harness's fauxqs, with
 * fixture handlers (test/fixtures/handlers/) instead of the real route table.
 */
import { createHash, randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { type AddressInfo, connect } from "node:net";
import {
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { query } from "../../core/platform/db/index.ts";
import type { HttpRoute, QueueConsumer } from "../../functions/routes.ts";
import { ensureQueues, localCredentials } from "../../local/emulators.ts";
import { createHttpServer, type LocalHttpServer } from "../../local/http-server.ts";
import { createHandlerLoader, type HandlerLoader, Invoker, type LambdaHandler } from "../../local/invoke.ts";
import { startScheduler } from "../../local/scheduler.ts";
import { interpretBatchResponse } from "../../local/sqs-event.ts";
import { runPoller } from "../../local/sqs-poller.ts";
import * as sqsFixture from "../fixtures/handlers/sqs-batch.ts";
import * as factoryFixture from "../fixtures/handlers/sqs-factory.ts";

const F = "test/fixtures/handlers/http-echo";
const route = (method: HttpRoute["method"], path: string, handler: string, timeoutS?: number): HttpRoute => ({
  method,
  path,
  handler,
  role: "public",
  summary: "fixture",
  tag: "test",
  timeoutS,
});
const testRoutes: HttpRoute[] = [
  route("GET", "/things/{id}", `${F}.echo`),
  route("POST", "/things/{id}", `${F}.echo`),
  route("GET", "/things/special", `${F}.literal`),
  route("GET", "/files/{proxy+}", `${F}.echo`),
  route("GET", "/plain", `${F}.plain`),
  route("GET", "/structured", `${F}.structured`),
  route("GET", "/slow", `${F}.slow`, 1),
  route("GET", "/long", `${F}.echo`, 60),
  route("GET", "/slow-long", `${F}.slow`, 60),
  route("GET", "/boom", `${F}.boom`),
  route("GET", "/invalid", `${F}.invalid`),
  route("GET", "/missing", "test/fixtures/handlers/does-not-exist.handler"),
];

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json: () => any;
}

function call(
  port: number,
  method: string,
  path: string,
  o: { headers?: Record<string, string | string[]>; body?: Buffer | string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method, path, headers: o.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString()) });
      });
    });
    req.on("error", reject);
    req.end(o.body);
  });
}

describe("local HTTP server (API Gateway v2)", () => {
  let server: LocalHttpServer;
  let invoker: Invoker;
  let port: number;

  beforeAll(async () => {
    invoker = new Invoker(createHandlerLoader(), { app: "aos", stage: "test", region: "us-east-1" });
    // A 2 s gateway limit stands in for API Gateway's 30 s.
    server = createHttpServer({ routes: testRoutes, invoker, gatewayTimeoutS: 2 });
    port = ((await server.listen(0, "127.0.0.1")) as AddressInfo).port;
  });
  afterAll(async () => {
    server.stopAccepting();
    await invoker.drain(5000);
    await server.close();
  });

  it("passes a payload-2.0 event: route key, path and query parameters, headers, cookies, text body", async () => {
    const r = await call(port, "POST", "/things/a%20b?tag=x&tag=y&q=hello%20world&empty", {
      headers: { "X-Custom": "Value", "x-dup": ["one", "two"], cookie: "a=1; b=2", "content-type": "application/json" },
      body: '{"x":1}',
    });
    expect(r.status).toBe(200);
    const { event, context } = r.json();
    expect(event).toMatchObject({
      version: "2.0",
      routeKey: "POST /things/{id}",
      rawPath: "/things/a%20b",
      rawQueryString: "tag=x&tag=y&q=hello%20world&empty",
      pathParameters: { id: "a b" },
      queryStringParameters: { tag: "x,y", q: "hello world", empty: "" },
      cookies: ["a=1", "b=2"],
      body: '{"x":1}',
      isBase64Encoded: false,
      requestContext: {
        accountId: expect.any(String),
        apiId: expect.any(String),
        domainName: `127.0.0.1:${port}`,
        http: { method: "POST", path: "/things/a b", protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "" },
        requestId: r.headers["apigw-requestid"],
        routeKey: "POST /things/{id}",
        stage: "$default",
        timeEpoch: expect.any(Number),
      },
    });
    expect(event.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(event.headers["x-custom"]).toBe("Value");
    expect(event.headers["x-dup"]).toBe("one,two");
    expect(event.headers["content-type"]).toBe("application/json");
    expect(event.headers.cookie).toBeUndefined();
    expect(Object.keys(event.headers).every((k: string) => k === k.toLowerCase())).toBe(true);
    expect(context).toMatchObject({
      functionName: "aos-test-test-fixtures-handlers-http-echo",
      invokedFunctionArn: expect.stringMatching(/^arn:aws:lambda:us-east-1:\d{12}:function:aos-test-/),
      awsRequestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      memoryLimitInMB: "512",
    });
    // Default timeout (10 s, as stacks/function.ts deploys) counting down.
    expect(context.remainingMs).toBeGreaterThan(9000);
    expect(context.remainingMs).toBeLessThanOrEqual(10_000);
  });

  it("a GET without query or body has no queryStringParameters, pathParameters for its route, no body", async () => {
    const { event } = (await call(port, "GET", "/things/42")).json();
    expect(event.routeKey).toBe("GET /things/{id}");
    expect(event.pathParameters).toEqual({ id: "42" });
    expect(event.rawQueryString).toBe("");
    expect(event).not.toHaveProperty("queryStringParameters");
    expect(event).not.toHaveProperty("body");
    expect(event).not.toHaveProperty("cookies");
    expect(event.isBase64Encoded).toBe(false);
  });

  it("base64-encodes a binary body", async () => {
    const bytes = Buffer.from([0, 255, 1, 128]);
    const { event } = (
      await call(port, "POST", "/things/1", { headers: { "content-type": "application/octet-stream" }, body: bytes })
    ).json();
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body, "base64")).toEqual(bytes);
  });

  it("matches a literal segment before {param}, and {proxy+} greedily", async () => {
    expect((await call(port, "GET", "/things/special")).body.toString()).toBe("literal");
    const { event } = (await call(port, "GET", "/files/a/b%20c/d.txt")).json();
    expect(event.routeKey).toBe("GET /files/{proxy+}");
    expect(event.pathParameters).toEqual({ proxy: "a/b c/d.txt" });
    expect((await call(port, "GET", "/files")).status).toBe(404);
    expect((await call(port, "GET", "/files/")).status).toBe(404);
  });

  it("answers 404 with the error envelope for an unknown path", async () => {
    for (const [method, path] of [
      ["GET", "/nope"],
      ["DELETE", "/nope/1"],
      ["GET", "/things/1/extra"],
    ] as const) {
      const r = await call(port, method, path);
      expect(r.status).toBe(404);
      expect(r.headers["content-type"]).toBe("application/json");
      expect(r.json()).toEqual({
        error: {
          code: "not_found",
          message: expect.stringContaining(path),
          details: null,
          requestId: r.headers["apigw-requestid"],
        },
      });
    }
  });

  it("answers 405 with Allow and the envelope for a method the most specific path lacks, even when a less specific path has it", async () => {
    for (const [method, path, allow] of [
      ["DELETE", "/things/1", "GET, HEAD, POST"],
      ["PUT", "/plain", "GET, HEAD"],
      // POST /things/{id} exists, but /things/special is the more specific path, and it has only GET.
      ["POST", "/things/special", "GET, HEAD"],
    ] as const) {
      const r = await call(port, method, path);
      expect(r.status, `${method} ${path}`).toBe(405);
      expect(r.headers.allow).toBe(allow);
      expect(r.json()).toEqual({
        error: {
          code: "method_not_allowed",
          message: `${method} is not allowed on ${path}; it takes ${allow}`,
          details: null,
          requestId: r.headers["apigw-requestid"],
        },
      });
    }
  });

  it("answers HEAD with the GET route's status and headers, without a body", async () => {
    const get = await call(port, "GET", "/plain");
    const head = await call(port, "HEAD", "/plain");
    expect(head.status).toBe(200);
    expect(head.headers["content-type"]).toBe("application/json");
    expect(head.headers["content-length"]).toBe(String(get.body.length));
    expect(head.body.length).toBe(0);
    const { event } = (await call(port, "GET", "/things/7")).json();
    expect(event.routeKey).toBe("GET /things/{id}");
  });

  it("answers a request line or headers over 16 KB with 431, and what is not HTTP with 400, both in the envelope", async () => {
    const long = await call(port, "GET", `/things/${"a".repeat(17 * 1024)}`);
    expect(long.status).toBe(431);
    expect(long.headers["content-type"]).toBe("application/json");
    expect(long.json().error).toMatchObject({ code: "headers_too_large", requestId: long.headers["apigw-requestid"] });
    const big = await call(port, "GET", "/plain", { headers: { "x-big": "b".repeat(17 * 1024) } });
    expect(big.status).toBe(431);
    // A reply to HEAD has no body, whoever answers it.
    const head = await call(port, "HEAD", `/plain?q=${"a".repeat(17 * 1024)}`);
    expect(head.status).toBe(431);
    expect(head.body.length).toBe(0);
    // A NUL in a header: Node's client will not send it, so a raw socket does.
    const raw = await new Promise<string>((resolve, reject) => {
      const sock = connect(port, "127.0.0.1", () =>
        sock.write("GET /plain HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0000b\r\n\r\n"),
      );
      let out = "";
      sock.on("data", (d) => {
        out += d.toString();
      });
      sock.on("end", () => resolve(out));
      sock.on("error", reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4)).error.code).toBe("bad_request");
  });

  it("answers a CORS preflight for a known path as API Gateway does, without calling a handler", async () => {
    const r = await call(port, "OPTIONS", "/things/1");
    expect(r.status).toBe(204);
    expect(r.headers["access-control-allow-methods"]).toContain("DELETE");
    expect(r.headers["access-control-allow-headers"]).toContain("authorization");
    expect(r.headers["access-control-allow-origin"]).toBe("*");
    expect((await call(port, "OPTIONS", "/nope")).status).toBe(404);
  });

  it("turns a plain returned object into 200 JSON", async () => {
    const r = await call(port, "GET", "/plain");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.json()).toEqual({ hello: "world", n: 1 });
  });

  it("sends a structured result as is: status, headers, cookies, base64 body decoded", async () => {
    const r = await call(port, "GET", "/structured");
    expect(r.status).toBe(201);
    expect(r.headers["x-count"]).toBe("3");
    expect(r.headers["set-cookie"]).toEqual(["s=1; Path=/", "t=2"]);
    expect(r.body).toEqual(Buffer.from([0, 1, 2, 253, 254, 255]));
  });

  it("answers 500 with the envelope when the handler throws, returns an invalid result or cannot be loaded", async () => {
    for (const path of ["/boom", "/invalid", "/missing"]) {
      const r = await call(port, "GET", path);
      expect(r.status, path).toBe(500);
      expect(r.json().error).toMatchObject({ code: "internal", requestId: r.headers["apigw-requestid"] });
    }
  });

  it("answers 504 at the route's timeout, and at the gateway's when the route's is longer", async () => {
    let t = Date.now();
    const r = await call(port, "GET", "/slow");
    expect(r.status).toBe(504);
    expect(r.json().error.code).toBe("timeout");
    expect(Date.now() - t).toBeGreaterThanOrEqual(950);
    expect(Date.now() - t).toBeLessThan(1450);
    // The context still reports the function's own 60 s timeout; the gateway cut is 2 s here.
    expect((await call(port, "GET", "/long")).json().context.remainingMs).toBeGreaterThan(59_000);
    t = Date.now();
    expect((await call(port, "GET", "/slow-long")).status).toBe(200);
    expect(Date.now() - t).toBeGreaterThanOrEqual(1450);
    // Shutdown can wait for a handler that outlived its request.
    const late = call(port, "GET", "/slow");
    await new Promise((res) => setTimeout(res, 100));
    expect(invoker.inFlight).toBeGreaterThan(0);
    expect(await invoker.drain(3000)).toBe(0);
    expect((await late).status).toBe(504);
  });

  it("refuses a body over 10 MB with 413", async () => {
    const r = await call(port, "POST", "/things/1", {
      headers: { "content-type": "application/octet-stream" },
      body: Buffer.alloc(10 * 1024 * 1024 + 1),
    });
    expect(r.status).toBe(413);
    expect(r.json().error.code).toBe("payload_too_large");
    const ok = await call(port, "POST", "/things/1", {
      headers: { "content-type": "application/octet-stream" },
      body: Buffer.alloc(10 * 1024 * 1024),
    });
    expect(ok.status).toBe(200);
  });
});

describe("interpretBatchResponse (ReportBatchItemFailures)", () => {
  const ids = ["a", "b"];
  it.each([
    [undefined, "all-succeeded"],
    [null, "all-succeeded"],
    [{}, "all-succeeded"],
    [{ batchItemFailures: [] }, "all-succeeded"],
    [{ batchItemFailures: null }, "all-succeeded"],
    [{ batchItemFailures: [{ itemIdentifier: "b" }] }, "partial"],
    [{ batchItemFailures: [{ itemIdentifier: "" }] }, "all-failed"],
    [{ batchItemFailures: [{ itemIdentifier: "zzz" }] }, "all-failed"],
    [{ batchItemFailures: [{}] }, "all-failed"],
    [{ batchItemFailures: "b" }, "all-failed"],
  ])("%j -> %s", (result, kind) => {
    expect(interpretBatchResponse(result, ids).kind).toBe(kind);
  });
});

describe("local SQS poller (Lambda event source mapping)", () => {
  const env = inject("aos");
  const region = "us-east-1";
  const sqs = new SQSClient({ endpoint: env.sqsEndpoint, region, credentials: localCredentials() });
  const loader: HandlerLoader = async () => sqsFixture.handler as LambdaHandler;
  const prefix = `lr-${randomBytes(4).toString("hex")}-`;
  let n = 0;

  /** A queue and its DLQ (redrive after 2 receives, 1 s visibility) consumed by `handler`. */
  async function queueFor(name: string, handler: string) {
    const consumer: QueueConsumer = {
      name,
      handler,
      batchSize: 10,
      batchWindowS: 0,
      visibilityTimeoutS: 1,
      maxReceiveCount: 2,
      timeoutS: 5,
    };
    const urls = await ensureQueues(
      { endpoint: env.sqsEndpoint, region, credentials: localCredentials() },
      [consumer],
      prefix,
    );
    return { consumer, queueUrl: urls[consumer.name] as string, dlqUrl: urls[`${consumer.name}Dlq`] as string };
  }

  async function setup(mode: typeof sqsFixture.state.mode) {
    sqsFixture.reset(mode);
    const { consumer, queueUrl, dlqUrl } = await queueFor(`Q${++n}`, "test/fixtures/handlers/sqs-batch.handler");
    const invoker = new Invoker(loader, { app: "aos", stage: "test", region });
    const stop = new AbortController();
    const start = () => runPoller({ consumer, queueUrl, sqs, invoker, region, signal: stop.signal });
    return { consumer, queueUrl, dlqUrl, stop, start };
  }

  const send = (queueUrl: string, bodies: string[]) =>
    sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.map((b, i) => ({
          Id: String(i),
          MessageBody: b,
          MessageAttributes: { kind: { DataType: "String", StringValue: `k-${b}` } },
        })),
      }),
    );

  async function counts(url: string) {
    const { Attributes: a } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }));
    return {
      visible: Number(a?.ApproximateNumberOfMessages),
      inFlight: Number(a?.ApproximateNumberOfMessagesNotVisible),
    };
  }

  async function until(what: string, check: () => Promise<boolean> | boolean, ms = 15_000) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  const timesSeen = (body: string) => sqsFixture.state.seen.filter((r) => r.body === body).length;

  beforeEach(() => sqsFixture.reset("partial"));
  afterAll(() => sqs.destroy());

  it("deletes what succeeded, redelivers what was reported, and dead-letters it after maxReceiveCount", async () => {
    const q = await setup("partial");
    await send(q.queueUrl, ["ok-1", "ok-2", "ok-3", "fail-1", "fail-2"]);
    const polling = q.start();
    try {
      await until("both failures in the DLQ", async () => (await counts(q.dlqUrl)).visible === 2);
      // Longer than the visibility timeout: a message left undeleted would be back by now.
      await new Promise((r) => setTimeout(r, 1500));
      expect(["ok-1", "ok-2", "ok-3"].map(timesSeen)).toEqual([1, 1, 1]);
      expect(["fail-1", "fail-2"].map(timesSeen)).toEqual([2, 2]);
      expect(await counts(q.queueUrl)).toEqual({ visible: 0, inFlight: 0 });
      const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.dlqUrl, MaxNumberOfMessages: 10 }));
      expect(dead.Messages?.map((m) => m.Body).sort()).toEqual(["fail-1", "fail-2"]);
    } finally {
      q.stop.abort();
      await polling;
    }

    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: q.queueUrl, AttributeNames: ["QueueArn"] }),
    );
    const first = sqsFixture.state.seen.find((r) => r.body === "fail-1") as (typeof sqsFixture.state.seen)[number];
    const second = sqsFixture.state.seen.filter((r) => r.body === "fail-1")[1];
    expect(first).toMatchObject({
      messageId: expect.any(String),
      receiptHandle: expect.any(String),
      body: "fail-1",
      md5OfBody: createHash("md5").update("fail-1").digest("hex"),
      eventSource: "aws:sqs",
      eventSourceARN: Attributes?.QueueArn,
      awsRegion: region,
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: expect.stringMatching(/^\d{13}$/),
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
      },
      messageAttributes: {
        kind: { stringValue: "k-fail-1", dataType: "String", stringListValues: [], binaryListValues: [] },
      },
    });
    expect(second?.attributes.ApproximateReceiveCount).toBe("2");
    expect(second?.messageId).toBe(first.messageId);
    // The first batch held all five messages: partial failure was decided within one batch.
    expect(sqsFixture.state.contexts[0]?.functionName).toBe("aos-test-test-fixtures-handlers-sqs-batch");
  });

  it.each([
    ["throw-once", "the handler throws"],
    ["bad-id-once", "an itemIdentifier is empty"],
  ] as const)("retries the whole batch when %s (%s)", async (mode, _why) => {
    const q = await setup(mode);
    await send(q.queueUrl, ["m-1", "m-2", "m-3"]);
    const polling = q.start();
    try {
      await until("every message twice", () => ["m-1", "m-2", "m-3"].every((b) => timesSeen(b) === 2));
      await until("the queue drained", async () => {
        const c = await counts(q.queueUrl);
        return c.visible === 0 && c.inFlight === 0;
      });
      await new Promise((r) => setTimeout(r, 1500));
      expect(["m-1", "m-2", "m-3"].map(timesSeen)).toEqual([2, 2, 2]);
      expect(await counts(q.dlqUrl)).toEqual({ visible: 0, inFlight: 0 });
    } finally {
      q.stop.abort();
      await polling;
      await sqs.send(new PurgeQueueCommand({ QueueUrl: q.queueUrl })).catch(() => {});
    }
  });

  it("a factory-made consumer: done is deleted, a throwing group is redelivered then dead-lettered, poison is recorded once and acked", async () => {
    factoryFixture.state.seen = [];
    const { consumer, queueUrl, dlqUrl } = await queueFor(`F${++n}`, "test/fixtures/handlers/sqs-factory.handler");
    const invoker = new Invoker(async () => factoryFixture.handler as LambdaHandler, {
      app: "aos",
      stage: "test",
      region,
    });
    const stop = new AbortController();
    const tenant = crypto.randomUUID();
    const mark = randomBytes(4).toString("hex");
    const bodies = [
      { n: 1, group: "a" },
      { n: 2, group: "a" },
      { n: -1, group: "b" },
      { n: 3, group: "b" },
      { n: 0, group: "c", tenantId: tenant, mark },
      { n: "poison", group: "c", tenantId: tenant, mark },
    ].map((b) => JSON.stringify(b));
    await send(queueUrl, bodies);
    const polling = runPoller({ consumer, queueUrl, sqs, invoker, region, signal: stop.signal });
    try {
      await until("group b in the DLQ", async () => (await counts(dlqUrl)).visible === 2);
      await new Promise((r) => setTimeout(r, 1500));
      expect(await counts(queueUrl)).toEqual({ visible: 0, inFlight: 0 });
      const dead = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10 }));
      expect(dead.Messages?.map((m) => JSON.parse(m.Body as string).n).sort()).toEqual([-1, 3]);
      const seen = factoryFixture.state.seen;
      // Group a once; group b twice (its throw retried both of its records, then the DLQ); 0 once.
      expect([1, 2, -1, 3, 0].map((x) => seen.filter((y) => y === x).length)).toEqual([1, 1, 2, 2, 1]);
      const { rows } = await query<{ tenant_id: string; error_code: string; receive_count: number }>(
        "select tenant_id, error_code, receive_count from queue_failures where queue = 'Fixture' and body like $1 order by error_code",
        [`%${mark}%`],
      );
      expect(rows).toEqual([
        { tenant_id: tenant, error_code: "fixture.zero", receive_count: 1 },
        { tenant_id: tenant, error_code: "validation.invalid_input", receive_count: 1 },
      ]);
    } finally {
      stop.abort();
      await polling;
    }
  });

  it("stops promptly while long-polling an empty queue", async () => {
    const q = await setup("partial");
    const polling = q.start();
    await new Promise((r) => setTimeout(r, 300));
    const t = Date.now();
    q.stop.abort();
    await polling;
    expect(Date.now() - t).toBeLessThan(1000);
    expect(sqsFixture.state.batches).toBe(0);
  });
});

describe("local scheduler (EventBridge Scheduler, as CronV2 deploys it)", () => {
  it("fires the handler at the schedule's time with CronV2's payload ({}) and a context with the job's timeout", async () => {
    const calls: { event: unknown; at: number; remainingMs: number; functionName: string }[] = [];
    const loader: HandlerLoader = async () => async (event: unknown, context: import("aws-lambda").Context) => {
      calls.push({
        event,
        at: Date.now(),
        remainingMs: context.getRemainingTimeInMillis(),
        functionName: context.functionName,
      });
    };
    const invoker = new Invoker(loader, { app: "aos", stage: "test", region: "us-east-1" });
    // at() has one-second resolution: two seconds ahead, truncated, is 1-2 s away.
    const at = new Date(Date.now() + 2000);
    const expr = `at(${at.toISOString().slice(0, 19)})`;
    const due = Math.floor(at.getTime() / 1000) * 1000;
    const scheduler = startScheduler({
      schedules: [{ name: "Soon", schedule: expr, handler: "functions/cron/soon.handler", timeoutS: 7 }],
      invoker,
    });
    try {
      expect(scheduler.next().Soon?.getTime()).toBe(due);
      const end = Date.now() + 5000;
      while (!calls.length && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(calls).toHaveLength(1);
      expect(calls[0]?.event).toEqual({});
      expect(calls[0]?.at).toBeGreaterThanOrEqual(due);
      expect(calls[0]?.at).toBeLessThan(due + 500);
      expect(calls[0]?.remainingMs).toBeGreaterThan(6000);
      expect(calls[0]?.functionName).toBe("aos-test-cron-soon");
      expect(scheduler.next().Soon).toBeUndefined();
    } finally {
      scheduler.stop();
    }
  });

  it("refuses to start on an invalid expression, as a deploy would fail", () => {
    const invoker = new Invoker(async () => async () => {}, { app: "aos", stage: "test", region: "us-east-1" });
    expect(() =>
      startScheduler({
        schedules: [{ name: "Bad", schedule: "rate(1 minutes)", handler: "x.handler", timeoutS: 1 }],
        invoker,
      }),
    ).toThrow(/rate\(1 minutes\)/);
  });
});
