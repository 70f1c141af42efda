/**
 * Who is acting, for which tenant, under which request and correlation id. Set once by the
 * handler factory (or the CLI / a cron) with `withContext`; read anywhere in core with
 * `useActor()` / `useTenant()` instead of threading ids through every signature.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { ForbiddenError, UnauthorizedError } from "./errors.ts";

export type Role = "admin" | "operator" | "agent" | "viewer";
export const roles: readonly Role[] = ["admin", "operator", "agent", "viewer"];

export type Actor =
  | { type: "key"; keyId: string; tenantId: string; role: Role }
  | { type: "system"; name: string; tenantId?: string }
  | { type: "public" };

export interface RequestContext {
  requestId: string;
  correlationId: string;
  actor: Actor;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function withContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function useContext(): RequestContext | undefined {
  return storage.getStore();
}

export function useActor(): Actor {
  return storage.getStore()?.actor ?? { type: "public" };
}

/** Replace the actor of the current context (auth does it once the key is known). */
export function setActor(actor: Actor): void {
  const ctx = storage.getStore();
  if (!ctx) throw new Error("setActor outside withContext");
  ctx.actor = actor;
}

/** The tenant the current actor acts for; an admin or system actor may name one explicitly. */
export function useTenant(explicit?: string): string {
  const actor = useActor();
  if (actor.type === "public") throw new UnauthorizedError();
  if (explicit && explicit !== actor.tenantId) {
    if (actor.type === "system" || actor.role === "admin") return explicit;
    throw new ForbiddenError("Only an admin key may act for another tenant", "auth.cross_tenant");
  }
  if (!actor.tenantId) throw new ForbiddenError("No tenant in this context", "auth.no_tenant");
  return actor.tenantId;
}

/**
 * How an actor is written where an action is recorded (status_history's and the ledger's `actor`
 * column): `key:<id>`, `system:<name>` or `public`.
 *
 * @example
 *   actorName(useActor()); // "key:0193..."
 */
export function actorName(a: Actor): string {
  if (a.type === "key") return `key:${a.keyId}`;
  if (a.type === "system") return `system:${a.name}`;
  return "public";
}

export function isAdmin(): boolean {
  const a = useActor();
  return a.type === "system" || (a.type === "key" && a.role === "admin");
}
