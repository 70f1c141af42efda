import { httpHandler } from "../../_lib/http.ts";

/**
 * The OpenAPI document. It is imported on the first request (a chunk of its own, cached by the
 * module system after that), not at cold start: 120 KB that only this route's requests read.
 */
export const handler = httpHandler(
  {},
  async () => (await import("../../../docs/openapi.json", { with: { type: "json" } })).default,
);
