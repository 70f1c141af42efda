import * as Workflows from "../../../../core/workflows/index.ts";
import { ReplayPath, ReplayRecord } from "../../../../core/workflows/index.ts";
import { httpHandler } from "../../../_lib/http.ts";

/** A replay verification of a run of the tenant; another tenant's is a 404. */
export const handler = httpHandler({ path: ReplayPath, response: ReplayRecord }, ({ path }) =>
  Workflows.getReplay(path.id, path.replay_id),
);
