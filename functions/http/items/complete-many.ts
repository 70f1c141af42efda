import * as Jobs from "../../../core/jobs/index.ts";
import { CompleteManyBody, CompleteManyReply } from "../../../core/jobs/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/**
 * Up to 100 held items done and charged in one statement. 200 with each item either in
 * `completed` or in `refused` (the code a single complete would give: jobs.item_not_found,
 * jobs.lease_lost); a refused item changes nothing and does not stop the others.
 */
export const handler = httpHandler(
  {
    body: CompleteManyBody,
    response: CompleteManyReply,
  },
  ({ body }) => Jobs.completeMany(body),
);
