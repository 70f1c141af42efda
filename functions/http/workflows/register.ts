import * as Workflows from "../../../core/workflows/index.ts";
import { WorkflowRecord, WorkflowRegister } from "../../../core/workflows/index.ts";
import { HttpReply, httpHandler } from "../../_lib/http.ts";

/** 201 with a new version when the steps changed, 200 with the latest version when they did not. */
export const handler = httpHandler(
  {
    body: WorkflowRegister,
    response: WorkflowRecord,
    status: 201,
    description: "The version registered (201), or the latest version when its steps are the same (200)",
    errors: {
      400: "A bad body, or steps that cannot run (workflows.invalid_steps): an unknown skill (body.steps.<n>.skill), a $ref to a later or unknown step (body.steps.<n>.args.<field>), args the skill refuses, a step id used twice",
    },
  },
  async ({ body }) => {
    const { workflow, created } = await Workflows.register(body);
    return new HttpReply(created ? 201 : 200, workflow, {
      location: `/api/v1/workflows/${workflow.name}?version=${workflow.version}`,
    });
  },
);
