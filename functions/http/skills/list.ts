import * as Skills from "../../../core/skills/index.ts";
import { SkillList } from "../../../core/skills/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** Every skill with the JSON Schemas of its input and output, its flags and its cost model. */
export const handler = httpHandler({ response: SkillList }, async () => ({ data: Skills.list() }));
