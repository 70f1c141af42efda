/**
 * What the breakers of a skill's calls look like before any call is made (job simulation's
 * warnings): the breakers calls with given args would meet, each looked at once.
 */
import { useTenant } from "../context.ts";
import * as Breaker from "./breaker.ts";
import { getSpec } from "./registry.ts";

/** At most this many distinct breakers are looked at by one `breakerStates` call. */
export const MAX_PEEKED_BREAKERS = 50;

/**
 * The breakers calls of `name` with each of `parsedArgs` (as `validateArgs` returned them) would
 * go through, each distinct one looked at once (the first MAX_PEEKED_BREAKERS): `{target, state}`
 * of those not CLOSED, and how many distinct ones were not looked at. Empty for a skill without a
 * breaker.
 */
export async function breakerStates(
  name: string,
  parsedArgs: readonly unknown[],
): Promise<{ open: { target: string; state: Breaker.BreakerState }[]; unchecked: number }> {
  const spec = getSpec(name).breaker;
  if (!spec) return { open: [], unchecked: 0 };
  const keys = new Map<string, Breaker.BreakerKey>();
  for (const parsed of parsedArgs) {
    const key = Breaker.breakerKey(spec.scopeFor?.(parsed) ?? spec.scope, spec.target(parsed), useTenant());
    keys.set(`${key.tenantId ?? ""} ${key.target}`, key);
  }
  const looked = [...keys.values()].slice(0, MAX_PEEKED_BREAKERS);
  const open: { target: string; state: Breaker.BreakerState }[] = [];
  for (const key of looked) {
    const state = await Breaker.peek(key);
    if (state !== "CLOSED") open.push({ target: key.target, state });
  }
  return { open, unchecked: keys.size - looked.length };
}
