import * as Jobs from "../../../core/jobs/index.ts";
import { FailBody, ItemPath, ItemReply } from "../../../core/jobs/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** Retryable with attempts left: back to pending (status pending); otherwise failed and its credits released. */
export const handler = httpHandler(
  {
    path: ItemPath,
    body: FailBody,
    response: ItemReply,
    errors: {
      404: "jobs.item_not_found: no such item in this tenant",
      409: "jobs.lease_lost: the worker no longer holds the item (lease ended, taken over, or finished)",
    },
  },
  ({ path, body }) => Jobs.fail(path.id, body),
);
