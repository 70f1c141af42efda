import * as Jobs from "../../../core/jobs/index.ts";
import { ClaimBody, ClaimReply, JobPath } from "../../../core/jobs/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The next pending items of an external job, each leased to the worker; an empty list when none is free. */
export const handler = httpHandler(
  {
    path: JobPath,
    body: ClaimBody,
    response: ClaimReply,
    description:
      "The items claimed, each leased to the worker until lease_until; an empty list when none is free. " +
      "A claim does not wait for its commit to reach disk: should the database crash in that instant, the claim " +
      "is lost and the item is pending again, as if its lease had ended (completing it is then refused with " +
      "409 jobs.lease_lost and charges nothing). Completions are durable when they answer.",
    errors: {
      404: "jobs.not_found: no such job in this tenant",
      409: "jobs.not_running (cancelled or finished) or jobs.not_external (its items go to SQS workers)",
    },
  },
  ({ path, body }) => Jobs.claim(path.id, body),
);
