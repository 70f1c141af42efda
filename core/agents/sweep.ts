/**
 * The agents sweep (cron AgentSweep, every minute): messages delivered too often dead-lettered,
 * expired messages deleted, invokes whose caller died timed out (their holds released), and the
 * blackboard namespaces of jobs settled lately given their short expiry (job-boards.ts).
 */
import { sweepInvokes } from "./invoke.ts";
import { expireFinishedJobBoards } from "./job-boards.ts";
import { sweepMessages } from "./messages.ts";

export async function sweep(): Promise<{
  dead: number;
  expired: number;
  invokesTimedOut: number;
  jobBoardsExpiring: number;
}> {
  const messages = await sweepMessages();
  const invokesTimedOut = await sweepInvokes();
  const jobBoardsExpiring = await expireFinishedJobBoards();
  return { ...messages, invokesTimedOut, jobBoardsExpiring };
}
