import * as Jobs from "../../../core/jobs/index.ts";
import { JobRecord, JobSpawn } from "../../../core/jobs/index.ts";
import * as Idempotency from "../../../core/platform/idempotency/index.ts";
import { HttpReply, httpHandler } from "../../_lib/http.ts";

/**
 * 201 with the job (running, its credits reserved); skill items are fanned out over SQS after
 * commit. With an Idempotency-Key, a retry answers the first 201 again and spawns nothing.
 */
export const handler = httpHandler(
  {
    body: JobSpawn,
    response: JobRecord,
    status: 201,
    idempotent: true,
    description:
      "The job was spawned (or, for a repeated Idempotency-Key, the job it spawned); follow it at the location header",
    errors: {
      400: "A bad body, an unknown task (jobs.unknown_task, body.task), an item input the skill refuses (jobs.invalid_item_input, body.items.<n>.input.<field>) or a bad Idempotency-Key (headers.idempotency-key)",
      402: "credits.insufficient: details.required and details.available; nothing was written",
      409: "idempotency.key_reused: the Idempotency-Key was used with another body",
    },
  },
  async ({ body, headers }) => {
    const { job, replayed } = await Jobs.spawnOnce(body, Idempotency.keyFrom(headers));
    return new HttpReply(201, job, { location: `/api/v1/jobs/${job.id}`, ...Idempotency.replayHeaders(replayed) });
  },
);
