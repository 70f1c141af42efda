/**
 * The real route table served by the local runtime's HTTP server, in-process, on a loopback port,
 * against this test file's database, Redis, bucket and queues: requests take the whole path a
 * request of `npm start` takes (Node's HTTP parser, routing, the payload-2.0 event, the handler).
 *
 * @example
 *   const api = await startLocalApi();
 *   const r = await api.call("GET", "/health");
 *   await api.close();
 */
import { request as httpRequest } from "node:http";
import { routes } from "../../functions/routes.ts";
import { createHttpServer } from "../../local/http-server.ts";
import { createHandlerLoader, Invoker } from "../../local/invoke.ts";

export interface ApiReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The parsed body when it is JSON, else undefined. */
  json: any;
}

export interface LocalApi {
  port: number;
  call(
    method: string,
    path: string,
    o?: { headers?: Record<string, string>; body?: string | Buffer },
  ): Promise<ApiReply>;
  close(): Promise<void>;
}

export async function startLocalApi(): Promise<LocalApi> {
  const invoker = new Invoker(createHandlerLoader(), { app: "aos", stage: "test", region: "us-east-1" });
  const server = createHttpServer({ routes, invoker });
  const { port } = await server.listen(0, "127.0.0.1");
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
    call,
    async close() {
      server.stopAccepting();
      await invoker.drain(5000);
      await server.close();
    },
  };
}
