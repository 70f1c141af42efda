/** Requests of the CLI's commands to a running AOS (AOS_URL / --url), with the key as bearer token. */
import { aosUnreachable } from "./failures.ts";

/** AOS did not answer at all (refused, DNS, reset): the message says where it was looked for. */
export class AosUnreachableError extends Error {
  override name = "AosUnreachableError";
}

/**
 * `method path` with `body` as JSON (when given); the reply whatever its status. Throws
 * AosUnreachableError when no reply came.
 *
 * @example
 *   const res = await requestAos({ url, key }, "GET", "/api/v1/credits");
 */
export async function requestAos(
  to: { url: string; key: string | undefined },
  method: string,
  path: string,
  body?: unknown,
  redirect: "follow" | "manual" = "follow",
  headers: Record<string, string> = {},
): Promise<Response> {
  try {
    return await fetch(new URL(path, to.url), {
      method,
      redirect,
      headers: {
        ...(to.key ? { authorization: `Bearer ${to.key}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (e) {
    // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, ...) is its cause.
    const c = (e as { cause?: { message?: string; code?: string } }).cause;
    throw new AosUnreachableError(aosUnreachable(to.url, c?.message ?? c?.code ?? (e as Error).message));
  }
}
