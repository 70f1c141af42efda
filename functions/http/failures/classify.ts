import * as Failures from "../../../core/failures/index.ts";
import { ClassifyBody, ClassifyReply } from "../../../core/failures/index.ts";
import { httpHandler } from "../../_lib/http.ts";

/** Classify a described error without recording it: the match, its confidence and why. */
export const handler = httpHandler({ body: ClassifyBody, response: ClassifyReply }, ({ body }) =>
  Failures.classifyRequest(body),
);
