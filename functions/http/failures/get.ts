import * as Failures from "../../../core/failures/index.ts";
import { FailurePath, FailureRecord, FailureTenantQuery } from "../../../core/failures/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** One failure; another tenant's is a 404. */
export const handler = httpHandler(
  { path: FailurePath, query: FailureTenantQuery, response: FailureRecord },
  ({ path, query }) => Failures.get(path.id, query.tenant),
);
