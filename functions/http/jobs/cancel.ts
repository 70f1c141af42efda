import * as Jobs from "../../../core/jobs/index.ts";
import { CancelBody, CancelReply, JobPath } from "../../../core/jobs/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** Pending items cancelled and refunded at once; items in flight may finish. A second cancel answers the same. */
export const handler = httpHandler(
  {
    path: JobPath,
    body: CancelBody,
    response: CancelReply,
    errors: { 409: "jobs.not_running: the job already completed or failed" },
  },
  ({ path, body }) => Jobs.cancel(path.id, body),
);
