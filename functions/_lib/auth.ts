/**
 * Bearer-key authentication and role checks for HTTP routes. The role a route needs comes from
 * functions/routes.ts; admin > operator > agent > viewer.
 */
import { type Role, setActor } from "../../core/context.ts";
import { ForbiddenError, UnauthorizedError } from "../../core/errors.ts";
import * as Tenancy from "../../core/tenancy/index.ts";
import type { RouteRole } from "../routes.ts";

const rank: Record<Role, number> = { viewer: 1, agent: 2, operator: 3, admin: 4 };

export function bearerKey(headers: Record<string, string | undefined>): string | undefined {
  const h = headers.authorization ?? headers.Authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

/** Authenticate the request's key (unless the route is public) and check the route's role. */
export async function authorize(required: RouteRole, headers: Record<string, string | undefined>): Promise<void> {
  if (required === "public") return;
  const key = bearerKey(headers);
  if (!key) throw new UnauthorizedError("auth.missing_key");
  const actor = await Tenancy.authenticate(key);
  setActor({ type: "key", keyId: actor.keyId, tenantId: actor.tenantId, role: actor.role });
  if (rank[actor.role] < rank[required]) {
    throw new ForbiddenError(`This route needs the ${required} role; the key has ${actor.role}`, "auth.forbidden", {
      required,
      role: actor.role,
    });
  }
}
