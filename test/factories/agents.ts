/**
 * Agents for tests: `registerAgent(key, name)` through the real route; `shiftedClock`, the system
 * clock moved forward on demand (leases and staleness end without waiting, long-polls still wait
 * in real time); `asAgentKey(t)(fn)`, core called as tenant t's agent key.
 */
import { expect } from "vitest";
import { withContext } from "../../core/context.ts";
import type { Clock } from "../../core/platform/clock.ts";
import { systemClock } from "../../core/platform/clock.ts";
import { invoke } from "../events/index.ts";

export async function registerAgent(key: string, name: string, more: Record<string, unknown> = {}): Promise<string> {
  const res = await invoke("POST", "/api/v1/agents", { key, body: { name, capabilities: ["test"], ...more } });
  expect(res.status).toBe(201);
  return res.body.id;
}

/** Headers of a key acting as instance `id`. */
export const actingAs = (id: string) => ({ "x-aos-agent-id": id });

export class ShiftedClock implements Clock {
  shiftMs = 0;
  now(): Date {
    return new Date(Date.now() + this.shiftMs);
  }
  nowMs(): number {
    return Date.now() + this.shiftMs;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return systemClock.sleep(ms, signal);
  }
  advance(ms: number): void {
    this.shiftMs += ms;
  }
}

/** Run `fn` in core as tenant `t`'s agent key, as a handler would (core calls without HTTP, for volume). */
export const asAgentKey =
  (t: { tenant: { id: string }; keys: { agent: { id: string } } }) =>
  <T>(fn: () => Promise<T>) =>
    withContext(
      {
        requestId: "bb",
        correlationId: "bb",
        actor: { type: "key", keyId: t.keys.agent.id, tenantId: t.tenant.id, role: "agent" },
      },
      fn,
    );
