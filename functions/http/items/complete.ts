import * as Jobs from "../../../core/jobs/index.ts";
import { CompleteBody, ItemPath, ItemReply } from "../../../core/jobs/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The item done with its result, charged once; a late worker (lease lost) gets 409 and changes nothing. */
export const handler = httpHandler(
  {
    path: ItemPath,
    body: CompleteBody,
    response: ItemReply,
    errors: {
      404: "jobs.item_not_found: no such item in this tenant",
      409: "jobs.lease_lost: the worker no longer holds the item (lease ended, taken over, or finished)",
    },
  },
  ({ path, body }) => Jobs.complete(path.id, body),
);
