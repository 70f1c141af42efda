import * as Workflows from "../../../../core/workflows/index.ts";
import { RunCancel, RunPath, RunRecord } from "../../../../core/workflows/index.ts";
import { httpHandler } from "../../../_lib/http.ts";

/** The run cancelled, the rest of its credits released; a second cancel answers the same. */
export const handler = httpHandler(
  {
    path: RunPath,
    body: RunCancel,
    response: RunRecord,
    errors: { 409: "workflows.run_not_running: the run already completed or failed" },
  },
  ({ path, body }) => Workflows.cancel(path.id, body.reason),
);
