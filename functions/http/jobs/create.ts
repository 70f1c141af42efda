import * as Jobs from "../../../core/jobs/index.ts";
import { JobRecord, JobSpawn } from "../../../core/jobs/index.ts";
import { HttpReply, httpHandler } from "../../_lib/http.ts";

/** 201 with the job (running, its credits reserved); skill items are fanned out over SQS after commit. */
export const handler = httpHandler(
  {
    body: JobSpawn,
    response: JobRecord,
    status: 201,
    description: "The job was spawned; follow it at the location header",
    errors: {
      400: "A bad body, an unknown task (jobs.unknown_task, body.task) or an item input the skill refuses (jobs.invalid_item_input, body.items.<n>.input.<field>)",
      402: "credits.insufficient: details.required and details.available; nothing was written",
    },
  },
  async ({ body }) => {
    const job = await Jobs.spawn(body);
    return new HttpReply(201, job, { location: `/api/v1/jobs/${job.id}` });
  },
);
