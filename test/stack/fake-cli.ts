/**
 * The SST CLI side of the stack harness: a loopback HTTP server answering the RPCs SST's
 * components make to the CLI (`SST_SERVER`): the AWS bootstrap lookup and `Runtime.Build`.
 * The build fails, as the real one would, unless the handler file exists and exports the
 * handler's function; nothing is bundled.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { ACCOUNT, REGION } from "./fake-aws.ts";
import type { StackGraph } from "./harness.ts";

/** `functions/http/keys/revoke.handler` -> the file that exports `handler`, or why not. */
function checkHandler(handlerRoot: string, handler: string): { file: string | null; errors: string[] } {
  const dot = handler.lastIndexOf(".");
  const base = handler.slice(0, dot);
  const fn = handler.slice(dot + 1);
  const candidates = [".ts", ".mts", ".js", ".mjs"].map((ext) => `${base}${ext}`);
  const file = candidates.find((c) => existsSync(join(handlerRoot, c)));
  if (!file) return { file: null, errors: [`Could not find handler file "${base}.ts" for handler "${handler}"`] };
  const src = readFileSync(join(handlerRoot, file), "utf8");
  const exported = new RegExp(
    `export\\s+(?:const|let|var|async\\s+function\\*?|function\\*?)\\s+${fn}\\b|export\\s*\\{[^}]*\\b${fn}\\b[^}]*\\}`,
  );
  if (!exported.test(src)) return { file, errors: [`"${file}" does not export "${fn}" (handler "${handler}")`] };
  return { file, errors: [] };
}

/** Starts the stand-in and points `SST_SERVER` at it. */
export async function startCliStub(
  graph: StackGraph,
  handlerRoot: string,
  work: string,
  touch: () => void,
): Promise<Server> {
  const answer = async (method: string, args: Record<string, unknown>): Promise<unknown> => {
    touch();
    if (method === "Provider.Aws.Bootstrap") {
      return {
        asset: `sst-asset-${ACCOUNT}`,
        assetEcrRegistryId: ACCOUNT,
        assetEcrUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/sst-asset`,
        state: `sst-state-${ACCOUNT}`,
        appsyncHttp: "",
        appsyncRealtime: "",
      };
    }
    if (method === "Runtime.Build") {
      const handler = String(args.handler);
      const { file, errors } = checkHandler(handlerRoot, handler);
      const links = (args.links ?? {}) as Record<string, Record<string, unknown>>;
      graph.builds.push({
        functionID: String(args.functionID),
        handler,
        file,
        runtime: String(args.runtime),
        properties: (args.properties ?? {}) as Record<string, unknown>,
        links: Object.fromEntries(Object.entries(links).map(([k, v]) => [k, Object.keys(v ?? {}).sort()])),
        errors,
      });
      const out = join(work, "artifacts", `${String(args.functionID)}-src`);
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, "README"), `stand-in bundle of ${handler}\n`);
      return { handler, out, errors, sourcemaps: [] };
    }
    graph.unhandled.push(`rpc ${method}`);
    return { __error: `rpc: can't find method ${method}` };
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      const { method, params } = JSON.parse(body) as { method: string; params: [Record<string, unknown>] };
      answer(method, params[0] ?? {}).then(
        (result) => {
          const err = (result as { __error?: string } | null)?.__error;
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(err ? { error: err } : { result, error: null }));
        },
        (e: unknown) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: String(e) }));
        },
      );
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  process.env.SST_SERVER = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return server;
}
