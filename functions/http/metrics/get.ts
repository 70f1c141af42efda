import { renderMetrics } from "../../../core/platform/metrics/index.ts";
import { httpHandler, text } from "../../_lib/http.ts";

export const handler = httpHandler({}, async () => {
  const { contentType, body } = await renderMetrics();
  return text(200, body, contentType);
});
