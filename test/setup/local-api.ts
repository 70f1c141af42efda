/**
 * The real route table served by the local runtime's HTTP server, in-process, on a loopback port,
 * against this test file's database, Redis, bucket and queues: requests take the whole path a
 * request of `npm start` takes (Node's HTTP parser, routing, the payload-2.0 event, the handler).
 *
 * `pollers` also runs the local SQS poller of those queues (their real consumers), as `npm start`
 * does, so work a request enqueues gets done.
 *
 * @example
 *   const api = await startLocalApi({ pollers: ["WorkflowSteps"] });
 *   const r = await api.call("GET", "/health");
 *   await api.close();
 */
import { request as httpRequest } from "node:http";
import { SQSClient } from "@aws-sdk/client-sqs";
import { config } from "../../core/config.ts";
import { queues, routes } from "../../functions/routes.ts";
import { localCredentials } from "../../local/emulators.ts";
import { createHttpServer, type LocalHttpServer } from "../../local/http-server.ts";
import { createHandlerLoader, Invoker } from "../../local/invoke.ts";
import { runPoller } from "../../local/sqs-poller.ts";

export interface ApiReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed body when it is JSON, else undefined. */
  json: any;
}

export interface LocalApi {
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  server: LocalHttpServer;
  call(
    method: string,
    path: string,
    o?: { headers?: Record<string, string>; body?: string | Buffer },
  ): Promise<ApiReply>;
  close(): Promise<void>;
}

export async function startLocalApi(o: { pollers?: readonly string[] } = {}): Promise<LocalApi> {
  const region = config().sqs.region;
  const invoker = new Invoker(createHandlerLoader(), { app: "aos", stage: config().stage, region });
  const server = createHttpServer({ routes, invoker });
  const { port } = await server.listen(0, "127.0.0.1");
  const polling = new AbortController();
  const sqs = o.pollers?.length
    ? new SQSClient({ endpoint: config().sqs.endpoint, region, credentials: localCredentials() })
    : undefined;
  const pollers = (o.pollers ?? []).map((name) => {
    const consumer = queues.find((q) => q.name === name);
    const queueUrl = config().sqs.queueUrls[name];
    if (!consumer || !queueUrl || !sqs) throw new Error(`no ${name} queue`);
    return runPoller({ consumer, queueUrl, sqs, invoker, region, signal: polling.signal, waitTimeS: 1 });
  });
  const call: LocalApi["call"] = (method, path, o = {}) =>
    new Promise((resolve, reject) => {
      // A body always goes with its length (Node sends none for a DELETE otherwise, and the server
      // would read the body as the next request).
      const headers =
        o.body === undefined ? o.headers : { ...o.headers, "content-length": String(Buffer.byteLength(o.body)) };
      const req = httpRequest({ host: "127.0.0.1", port, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          if (/json/.test(String(res.headers["content-type"] ?? "")) && text) {
            try {
              json = JSON.parse(text);
            } catch {}
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(o.body);
    });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    server,
    call,
    async close() {
      polling.abort();
      server.stopAccepting();
      await Promise.all(pollers);
      await invoker.drain(10_000);
      await server.close();
      sqs?.destroy();
    },
  };
}
