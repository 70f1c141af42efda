import * as Agents from "../../../core/agents/index.ts";
import { InvokePath, InvokeTrace } from "../../../core/agents/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** What happened to an invoke: its audit row, its request message(s) and timings. */
export const handler = httpHandler(
  {
    path: InvokePath,
    response: InvokeTrace,
    errors: { 404: "agents.invoke_not_found: no such invoke in this tenant" },
  },
  ({ path }) => Agents.trace(path.invoke_id),
);
