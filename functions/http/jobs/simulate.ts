import * as Jobs from "../../../core/jobs/index.ts";
import { JobSpawn, SimulateReply } from "../../../core/jobs/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** The spawn body, executed not at all: estimated credits and duration, warnings and risks; writes nothing. */
export const handler = httpHandler(
  {
    body: JobSpawn,
    response: SimulateReply,
    errors: { 400: "A bad body or an item input the skill refuses (as spawn)" },
  },
  ({ body }) => Jobs.simulate(body),
);
