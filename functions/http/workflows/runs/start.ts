import * as Workflows from "../../../../core/workflows/index.ts";
import { RunRecord, RunStart, WorkflowPath } from "../../../../core/workflows/index.ts";
import { HttpReply, httpHandler } from "../../../_lib/http.ts";

/**
 * 202 with the run (running, its credits reserved); its steps run over the WorkflowSteps queue.
 * The same idempotency_key with the same workflow and input answers the first run again.
 */
export const handler = httpHandler(
  {
    path: WorkflowPath,
    body: RunStart,
    response: RunRecord,
    status: 202,
    description:
      "The run was started (or, for a repeated idempotency_key, the run it started); follow it at the location header",
    errors: {
      402: "credits.insufficient: details.required and details.available; nothing was written",
      404: "workflows.not_found: no such workflow (or version) for this tenant",
      409: "workflows.idempotency_key_reused: the key started a run with another workflow, version or input",
    },
  },
  async ({ path, body }) => {
    const { run, replayed } = await Workflows.start(path.name, body);
    return new HttpReply(202, run, {
      location: `/api/v1/workflows/runs/${run.id}`,
      ...(replayed ? { "idempotent-replayed": "true" } : {}),
    });
  },
);
