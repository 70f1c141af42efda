import * as Skills from "../../../core/skills/index.ts";
import { SkillInfo, SkillPath } from "../../../core/skills/index.ts";
import { httpHandler } from "../../_lib/http.ts";

export const handler = httpHandler({ path: SkillPath, response: SkillInfo }, async ({ path }) =>
  Skills.describe(path.name),
);
