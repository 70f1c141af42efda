/**
 * The HTTP API: one API Gateway (HTTP API) route per entry of `routes` in functions/routes.ts,
 * each its own Lambda with only the links its entry names, and the `$default` route's fallback.
 */
import { cors, fallback, routes } from "../functions/routes.ts";
import { functionProps } from "./function.ts";
import { linkTargets } from "./queues.ts";

// Keys travel in the Authorization header, never in cookies, so any origin may call; API
// Gateway answers preflights itself. Headers match functions/_lib/http.ts.
export const api = new sst.aws.ApiGatewayV2("Api", {
  cors: {
    allowOrigins: [...cors.allowOrigins],
    allowMethods: [...cors.allowMethods],
    allowHeaders: [...cors.allowHeaders],
    exposeHeaders: [...cors.exposeHeaders],
    maxAge: `${cors.maxAgeS} seconds`,
  },
});

for (const r of routes) {
  const route = api.route(`${r.method} ${r.path}`, functionProps(r, linkTargets));
  // API Gateway routes HEAD on its own: a GET route's function answers it too, as its GET without
  // a body (functions/_lib/http.ts), as `npm start` does. No second function: the same ARN.
  if (r.method === "GET") api.route(`HEAD ${r.path}`, route.nodes.function.arn);
}

// Every request no route of its method matches: 405 with Allow or 404, in the error envelope,
// as `npm start` answers (instead of API Gateway's own 404 body).
api.route("$default", functionProps(fallback, linkTargets));
