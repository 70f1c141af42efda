import * as Workflows from "../../../../core/workflows/index.ts";
import { RunFork, RunPath, RunRecord } from "../../../../core/workflows/index.ts";
import { HttpReply, httpHandler } from "../../../_lib/http.ts";

/** 202 with the new run (forked_from, fork_op_index): the results before the op reused, the rest run. */
export const handler = httpHandler(
  {
    path: RunPath,
    body: RunFork,
    response: RunRecord,
    status: 202,
    description: "The fork was started; follow it at the location header",
    errors: {
      400: "A bad body, or workflows.invalid_fork (body.from_op_index): beyond the steps, or an op before it did not succeed",
      402: "credits.insufficient: the remaining steps cannot be reserved; nothing was written",
      410: "workflows.run_archived: retention removed the run's ops (details name the S3 object that holds them)",
    },
  },
  async ({ path, body }) => {
    const run = await Workflows.fork(path.id, body);
    return new HttpReply(202, run, { location: `/api/v1/workflows/runs/${run.id}` });
  },
);
