import { ClaimBody, ClaimReply, JobPath, Jobs } from "../../../core/jobs/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The next pending items of an external job, each leased to the worker; an empty list when none is free. */
export const handler = httpHandler(
  {
    path: JobPath,
    body: ClaimBody,
    response: ClaimReply,
    errors: {
      404: "jobs.not_found: no such job in this tenant",
      409: "jobs.not_running (cancelled or finished) or jobs.not_external (its items go to SQS workers)",
    },
  },
  ({ path, body }) => Jobs.claim(path.id, body),
);
