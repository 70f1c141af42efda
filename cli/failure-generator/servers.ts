/**
 * The loopback servers `aos failures generate` provokes failures against: one plain HTTP server
 * whose path says how to fail, a port that was listening a moment ago and is closed now
 * (connection refused), and nothing else: a TLS failure is an https:// request to the plain HTTP
 * port (the server answers bytes that are not a TLS handshake).
 *
 * Paths of the HTTP server:
 * - `/status/<code>/<body>`: answers `<code>` with the named body (`bodies` below: Slack's plain
 *   words, Voyage's `{"detail": ...}` JSON, or empty); 429 and 503 say `Retry-After: 0`, so the
 *   retry policy does not sleep between the attempts it makes.
 * - `/hang`: reads the request and never answers (the client's timeout fires).
 * - `/reset`: destroys the connection without a reply (socket hang up).
 * - `/big`: answers 200 with 2 MiB (above SKILL_HTTP_MAX_RESPONSE_BYTES' default).
 * - `/voyage/<mode>/v1/embeddings`: a Voyage-shaped endpoint (VOYAGE_BASE_URL = `.../voyage/<mode>`)
 *   failing as `<mode>` says: a status (`401`, `400`, `429`, `500`...) with Voyage's body, or
 *   `garbage` (200 with a body that is not the embeddings shape).
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Reply bodies by name, as the real services write them. */
export const bodies: Readonly<Record<string, { type: string; text: string }>> = {
  empty: { type: "text/plain", text: "" },
  plain: { type: "text/plain", text: "error" },
  html: { type: "text/html", text: "<html><body><h1>Server Error</h1></body></html>" },
  // Slack incoming webhooks answer plain words (api.slack.com/messaging/webhooks#handling_errors).
  invalid_token: { type: "text/plain", text: "invalid_token" },
  no_service: { type: "text/plain", text: "no_service" },
  team_disabled: { type: "text/plain", text: "team_disabled" },
  channel_not_found: { type: "text/plain", text: "channel_not_found" },
  channel_is_archived: { type: "text/plain", text: "channel_is_archived" },
  invalid_payload: { type: "text/plain", text: "invalid_payload" },
  no_text: { type: "text/plain", text: "no_text" },
  invalid_blocks: { type: "text/plain", text: "invalid_blocks" },
  rate_limited: { type: "text/plain", text: "rate_limited" },
  // Voyage answers JSON with a `detail` (docs.voyageai.com/docs/error-codes).
  voyage_key: { type: "application/json", text: '{"detail":"Provided API key is invalid."}' },
  voyage_batch: {
    type: "application/json",
    text: '{"detail":"The max allowed tokens per submitted batch is 120000. Your batch has 131072 tokens."}',
  },
  voyage_rate: {
    type: "application/json",
    text: '{"detail":"You have exceeded your TPM rate limit. Please slow down."}',
  },
  voyage_server: { type: "application/json", text: '{"detail":"Internal server error."}' },
};

/** Voyage's body for a status, when a mode is a status. */
const voyageBody = (status: number) =>
  status === 401 || status === 403
    ? "voyage_key"
    : status === 429
      ? "voyage_rate"
      : status >= 500
        ? "voyage_server"
        : "voyage_batch";

export interface GeneratorServers {
  /** `http://127.0.0.1:<port>` of the failing HTTP server. */
  http: string;
  /** `host:port` of the HTTP server, for SKILL_OUTBOUND_ALLOW_HOSTS. */
  httpHost: string;
  /** A loopback port nothing listens on. */
  closedPort: number;
  close(): Promise<void>;
}

function answer(res: ServerResponse, status: number, bodyName: string): void {
  const b = bodies[bodyName] ?? bodies.empty!;
  const headers: Record<string, string> = { "content-type": b.type };
  if (status === 429 || status === 503) headers["retry-after"] = "0";
  if (status >= 300 && status < 400) headers.location = "https://example.com/moved";
  res.writeHead(status, headers).end(b.text);
}

/** A port that was listening and is closed now: a connection to it is refused. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function startServers(): Promise<GeneratorServers> {
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    const parts = (req.url ?? "/").split("?")[0]!.split("/").filter(Boolean);
    // Read the whole request first: the client's errors should be about the reply only.
    req.resume();
    req.on("end", () => {
      const [what, a, b] = parts;
      if (what === "hang") {
        hanging.add(res);
        res.on("close", () => hanging.delete(res));
        return;
      }
      if (what === "reset") return void req.socket.destroy();
      if (what === "big") return void res.writeHead(200, { "content-type": "text/plain" }).end("x".repeat(2 << 20));
      if (what === "status") return answer(res, Number(a) || 500, b ?? "empty");
      if (what === "voyage") {
        if (a === "garbage") return void res.writeHead(200, { "content-type": "application/json" }).end('{"data":7}');
        const status = Number(a) || 500;
        return answer(res, status, voyageBody(status));
      }
      res.writeHead(404).end();
    });
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    http: `http://127.0.0.1:${port}`,
    httpHost: `127.0.0.1:${port}`,
    closedPort: await closedPort(),
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
