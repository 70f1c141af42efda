import * as Workflows from "../../../../core/workflows/index.ts";
import { ReplayRecord, ReplayStart, RunPath } from "../../../../core/workflows/index.ts";
import { HttpReply, httpHandler } from "../../../_lib/http.ts";

/**
 * 202 with the replay_runs row: the run's ops checked (verify, or against_version before deploying
 * it) in the request, or, for a run with more ops than WORKFLOW_REPLAY_MAX_OPS, queued (`pending`;
 * GET the Location until it finishes).
 */
export const handler = httpHandler(
  {
    path: RunPath,
    body: ReplayStart,
    response: ReplayRecord,
    status: 202,
    description:
      "The verification, with its verdict (verified or mismatch), first_mismatch_op_index, mismatch_diff and severity; pending (figures null) for a run with more ops than WORKFLOW_REPLAY_MAX_OPS, verified through the WorkflowReplays queue",
    errors: {
      400: "A bad body; against_version without body.version",
      404: "workflows.run_not_found, or workflows.not_found for a version the workflow does not have",
      410: "workflows.run_archived: retention removed the run's ops; details name the S3 object (key, SHA-256, op count) that holds them",
    },
  },
  async ({ path, body }) => {
    const replay = await Workflows.replay(path.id, body);
    return new HttpReply(202, replay, { location: `/api/v1/workflows/runs/${path.id}/replays/${replay.replay_id}` });
  },
);
