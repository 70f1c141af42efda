/**
 * Function props shared by every Lambda of AOS: HTTP routes, queue consumers and crons.
 *
 * Least privilege: every function is linked to the DatabaseUrl and RedisUrl secrets; the
 * Exports bucket, each `<Name>Queue` and the skills' secrets only when the entry's `links` in
 * functions/routes.ts names them. A link gives both the IAM permission and `Resource.<Name>` in the code
 * (core/config.ts reads `Resource.DatabaseUrl.value`, `Resource.Exports.name`,
 * `Resource.EventsQueue.url`), so link names here and there must match.
 */
import { DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, type LinkName } from "../functions/routes.ts";
import { databaseUrl, redisUrl } from "./storage.ts";

/** The fields of a route, queue consumer or schedule that shape its function. */
export interface FunctionEntry {
  handler: string;
  timeoutS?: number;
  memoryMb?: number;
  links?: readonly LinkName[];
}

/** What each `LinkName` of the route table stands for in the stacks. */
export type LinkTargets = Record<LinkName, sst.aws.Bucket | sst.aws.Queue | sst.Secret>;

/** HTTP defaults; API Gateway cuts a request at 30 s anyway. */

/**
 * Only Lambda may assume a function's role. SST 4.17.1 also trusts the account root outside
 * `sst dev` (its `!dev` tests an Output, which is always truthy), so any principal of the
 * account allowed sts:AssumeRole could act as any function. `sst dev` needs that trust for
 * its local bridge, so it keeps SST's policy.
 */
const LAMBDA_ONLY_TRUST = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

export function functionProps(entry: FunctionEntry, targets: LinkTargets): sst.aws.FunctionArgs {
  const extra = (entry.links ?? []).map((name) => {
    const target = targets[name];
    if (!target) throw new Error(`${entry.handler} links "${name}", which no stack defines`);
    return target;
  });
  return {
    handler: entry.handler,
    runtime: "nodejs22.x",
    architecture: "arm64",
    timeout: `${entry.timeoutS ?? DEFAULT_TIMEOUT_S} seconds`,
    memory: `${entry.memoryMb ?? DEFAULT_MEMORY_MB} MB`,
    // splitting: dynamic imports (AWS SDK, prom-client, Neon's driver) become chunks loaded on first
    // use instead of at every cold start; `npm run bench:cold-start` measures the same build.
    nodejs: { format: "esm", minify: true, splitting: true },
    environment: { STAGE: $app.stage },
    link: [databaseUrl, redisUrl, ...extra],
    transform: $dev
      ? undefined
      : {
          role: (args) => {
            args.assumeRolePolicy = LAMBDA_ONLY_TRUST;
          },
        },
  };
}
