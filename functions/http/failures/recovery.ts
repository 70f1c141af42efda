import * as Failures from "../../../core/failures/index.ts";
import { FailurePath, FailureRecord, FailureTenantQuery, RecoveryBody } from "../../../core/failures/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** Record a recovery attempt or success; recovered_by and recovered_at come from the caller. */
export const handler = httpHandler(
  { path: FailurePath, query: FailureTenantQuery, body: RecoveryBody, response: FailureRecord },
  ({ path, query, body }) => Failures.updateRecovery(path.id, body, query.tenant),
);
