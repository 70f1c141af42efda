/**
 * The agents sweep (cron AgentSweep, every minute): messages delivered too often dead-lettered,
 * expired messages deleted, invokes whose caller died timed out (their holds released).
 */
import { sweepInvokes } from "./invoke.ts";
import { sweepMessages } from "./messages.ts";

export async function sweep(): Promise<{ dead: number; expired: number; invokesTimedOut: number }> {
  const messages = await sweepMessages();
  const invokesTimedOut = await sweepInvokes();
  return { ...messages, invokesTimedOut };
}
