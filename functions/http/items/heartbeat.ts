import * as Jobs from "../../../core/jobs/index.ts";
import { HeartbeatBody, ItemPath, ItemReply } from "../../../core/jobs/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** Extends the lease by lease_s (default: the job's item_timeout_s) from now. */
export const handler = httpHandler(
  {
    path: ItemPath,
    body: HeartbeatBody,
    response: ItemReply,
    errors: {
      404: "jobs.item_not_found: no such item in this tenant",
      409: "jobs.lease_lost: the worker no longer holds the item (lease ended, taken over, or finished)",
    },
  },
  ({ path, body }) => Jobs.heartbeat(path.id, body),
);
