import * as Jobs from "../../../core/jobs/index.ts";
import { ItemListQuery, ItemRecord, JobPath } from "../../../core/jobs/index.ts";
import { page } from "../../../core/platform/pagination.ts";
import { httpHandler } from "../../_lib/http.ts";

/** A job's items in order (idx), optionally of one status; another tenant's job is a 404. */
export const handler = httpHandler(
  { path: JobPath, query: ItemListQuery, response: page(ItemRecord) },
  ({ path, query }) => Jobs.items(path.id, query),
);
