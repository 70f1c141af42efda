/**
 * API Gateway's `$default` route: every request that no route of its method matches. It answers
 * what `npm start` answers (functions/_lib/route-match.ts over the same route table): a path
 * that exists without the request's method is a 405 with `Allow`, anything else a 404, both in
 * the error envelope. HEAD on a path with GET never reaches here: stacks/api.ts routes it to the
 * GET route's function; should one come, it is a 405 naming GET (this function cannot run
 * another route's handler).
 */
import { AppError } from "../../core/errors.ts";
import { envelope } from "../_lib/errors.ts";
import { HttpReply, httpHandler } from "../_lib/http.ts";
import { createRouter } from "../_lib/route-match.ts";
import { routes } from "../routes.ts";

const router = createRouter(routes);

export const handler = httpHandler({}, async (req) => {
  const method = req.event.requestContext.http.method.toUpperCase();
  const path = req.event.rawPath;
  const requestId = req.event.requestContext.requestId;
  const resolved = router.resolve(method, path);
  if (resolved.kind === "not_found")
    return new HttpReply(
      404,
      envelope(new AppError("not_found", "not_found", `No route for ${method} ${path}`), requestId),
    );
  const allow =
    resolved.kind === "method_not_allowed"
      ? resolved.allow
      : // A route of this method would have been API Gateway's choice: only HEAD on a GET path
        // could resolve to one, and stacks/api.ts routes those to the GET's function.
        [resolved.match.route.method];
  const err = new AppError(
    "method_not_allowed",
    "method_not_allowed",
    `${method} is not allowed on ${path}; it takes ${allow.join(", ")}`,
  );
  return new HttpReply(405, envelope(err, requestId), { allow: allow.join(", ") });
});
