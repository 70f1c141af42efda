/**
 * A Voyage-like embeddings server on loopback for tests of voyage_embed: `POST /v1/embeddings`
 * with a bearer key (401 otherwise, as Voyage answers), deterministic vectors derived from each
 * text's SHA-256 (dimension 8, so a test can compute what it should get), usage counted as one
 * token per word. It records every request and can be told to fail the next requests with a
 * status (and headers such as Retry-After), to answer malformed bodies, or to list the
 * embeddings out of order (each still carrying its `index`, as the API allows).
 *
 * @example
 *   const voyage = await startVoyageServer({ apiKey: "vk-test" });
 *   voyage.failNext(1, 500);
 *   // ... VOYAGE_BASE_URL = voyage.url
 *   await voyage.close();
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export const VOYAGE_DIMENSION = 8;

/** The vector the server returns for `text`: 8 numbers in [-1, 1) from its SHA-256. */
export function expectedVector(text: string): number[] {
  const h = createHash("sha256").update(text).digest();
  return Array.from({ length: VOYAGE_DIMENSION }, (_, i) => h.readInt16BE(i * 2) / 32_768);
}

/** Tokens the server charges for `text`: its words. */
export const expectedTokens = (text: string): number => text.split(/\s+/).filter(Boolean).length;

export interface VoyageRequest {
  n: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body (undefined when it was not JSON). */
  body: { input?: string[]; model?: string; input_type?: string | null } | undefined;
  /** Status the server answered. */
  status: number;
  /** Vectors answered in a well-formed 200 (0 otherwise). */
  embedded: number;
}

/** Ways to break a reply's body while answering 200. */
export type Malformation =
  | "not_json"
  | "missing_data"
  | "wrong_count"
  | "non_numeric"
  | "bad_index"
  | "ragged"
  | "missing_usage";

export interface VoyageServer {
  url: string;
  requests: VoyageRequest[];
  /** Input counts of the requests answered with well-formed vectors, in order. */
  batchSizes(): number[];
  /** The next `n` requests get `status` (with `headers`, e.g. Retry-After) and a Voyage-like error body. */
  failNext(n: number, status: number, headers?: Record<string, string>): void;
  /** After `skip` good replies, the next `n` requests get 200 with a body broken as `kind` says. */
  malformNext(n: number, kind: Malformation, skip?: number): void;
  /** List `data` in reverse order (indexes still right). */
  shuffle: boolean;
  /** Forget the requests and any failure, malformation or shuffle still pending. */
  reset(): void;
  close(): Promise<void>;
}

export async function startVoyageServer(o: { apiKey: string }): Promise<VoyageServer> {
  const requests: VoyageRequest[] = [];
  let failures: { left: number; status: number; headers: Record<string, string> } = {
    left: 0,
    status: 500,
    headers: {},
  };
  let malformed: { left: number; kind: Malformation; skip: number } = { left: 0, kind: "not_json", skip: 0 };

  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body: VoyageRequest["body"];
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        body = undefined;
      }
      const rec: VoyageRequest = {
        n: requests.length + 1,
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body,
        status: 0,
        embedded: 0,
      };
      requests.push(rec);
      const reply = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        rec.status = status;
        const text = typeof payload === "string" ? payload : JSON.stringify(payload);
        res.writeHead(status, { "content-type": "application/json", ...headers });
        res.end(text);
      };
      if (req.method !== "POST" || req.url !== "/v1/embeddings") return reply(404, { detail: "Not Found" });
      // Voyage's wording; the key presented is never echoed.
      if (req.headers.authorization !== `Bearer ${o.apiKey}`)
        return reply(401, { detail: "Provided API key is invalid." });
      if (failures.left > 0) {
        failures.left--;
        return reply(failures.status, { detail: `failing on purpose (${failures.status})` }, failures.headers);
      }
      const input = body?.input;
      if (!Array.isArray(input) || !input.length || typeof body?.model !== "string")
        return reply(400, { detail: "input and model are required" });
      const data = input.map((t, index) => ({ object: "embedding", embedding: expectedVector(t), index }));
      if (server.shuffle) data.reverse();
      const ok = {
        object: "list",
        data,
        model: body.model,
        usage: { total_tokens: input.reduce((s, t) => s + expectedTokens(t), 0) },
      };
      if (malformed.left > 0 && malformed.skip-- <= 0) {
        malformed.left--;
        return reply(200, malform(ok, malformed.kind));
      }
      rec.embedded = input.length;
      return reply(200, ok);
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as AddressInfo;

  const server: VoyageServer = {
    url: `http://127.0.0.1:${port}`,
    requests,
    batchSizes: () => requests.filter((r) => r.embedded > 0).map((r) => r.embedded),
    failNext(n, status, headers = {}) {
      failures = { left: n, status, headers };
    },
    malformNext(n, kind, skip = 0) {
      malformed = { left: n, kind, skip };
    },
    shuffle: false,
    reset() {
      requests.length = 0;
      failures.left = 0;
      malformed.left = 0;
      server.shuffle = false;
    },
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
  return server;
}

type Ok = { data: { embedding: unknown[]; index: number }[]; usage?: unknown; [k: string]: unknown };

function malform(ok: Ok, kind: Malformation): unknown {
  switch (kind) {
    case "not_json":
      return "<html>upstream proxy error</html>";
    case "missing_data": {
      const { data: _d, ...rest } = ok;
      return rest;
    }
    case "wrong_count":
      return { ...ok, data: ok.data.slice(1) };
    case "non_numeric":
      return { ...ok, data: ok.data.map((d) => ({ ...d, embedding: d.embedding.map(String) })) };
    case "bad_index":
      return { ...ok, data: ok.data.map((d) => ({ ...d, index: 0 })) };
    case "ragged":
      return { ...ok, data: ok.data.map((d, i) => ({ ...d, embedding: d.embedding.slice(0, i + 1) })) };
    case "missing_usage": {
      const { usage: _u, ...rest } = ok;
      return rest;
    }
  }
}
