/**
 * The AWS side of the stack harness: Pulumi mocks that record every resource and stand in for
 * the provider's outputs and data sources. One account, one region, ARNs derived from the physical names.
 */
import type { StackGraph } from "./harness.ts";

/** What `pulumi.runtime.setMocks` takes. */
export interface Mocks {
  newResource(a: { type: string; name: string; inputs: Record<string, unknown>; id?: string }): {
    id: string;
    state: Record<string, unknown>;
  };
  call(a: { token: string; inputs: Record<string, unknown> }): Record<string, unknown>;
}
export const ACCOUNT = "123456789012";
export const REGION = "us-east-1";

/** What the AWS provider's getPolicyDocument returns: the statements as IAM policy JSON. */
function policyJson(inputs: Record<string, unknown>): string {
  type Statement = {
    effect?: string;
    actions?: string[];
    resources?: string[];
    principals?: Array<{ type: string; identifiers: string[] }>;
    conditions?: Array<{ test: string; variable: string; values: string[] }>;
  };
  const statements = (inputs.statements ?? []) as Statement[];
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: statements.map((s) => ({
      Effect: s.effect ?? "Allow",
      Action: s.actions,
      Resource: s.resources,
      ...(s.principals ? { Principal: Object.fromEntries(s.principals.map((p) => [p.type, p.identifiers])) } : {}),
      ...(s.conditions
        ? { Condition: Object.fromEntries(s.conditions.map((c) => [c.test, { [c.variable]: c.values }])) }
        : {}),
    })),
  });
}

/** Pulumi marks secret values with this signature key; the graph shows them plainly. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (SECRET_SIG in o) return plain(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** Outputs a real provider would compute, so ARNs and URLs flow into dependent resources. */
function fakeState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const phys = String(inputs.name ?? inputs.bucket ?? `${name}-abc123`);
  switch (type) {
    case "aws:s3/bucket:Bucket":
    case "aws:s3/bucketV2:BucketV2":
      return { bucket: phys.toLowerCase(), arn: `arn:aws:s3:::${phys.toLowerCase()}` };
    case "aws:sqs/queue:Queue":
      return {
        name: phys,
        arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${phys}`,
        url: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${phys}`,
      };
    case "aws:iam/role:Role":
      return { name: phys, arn: `arn:aws:iam::${ACCOUNT}:role/${phys}` };
    case "aws:lambda/function:Function": {
      const arn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${phys}`;
      return {
        name: phys,
        arn,
        qualifiedArn: `${arn}:$LATEST`,
        invokeArn: `arn:aws:apigateway:${REGION}:lambda:path/${arn}`,
      };
    }
    case "aws:apigatewayv2/api:Api":
      return {
        apiEndpoint: `https://${name.toLowerCase()}.execute-api.${REGION}.amazonaws.com`,
        executionArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${name}`,
      };
    case "random:index/randomBytes:RandomBytes":
      return {
        base64: Buffer.alloc(Number(inputs.length ?? 32), 7).toString("base64"),
        hex: "07".repeat(Number(inputs.length ?? 32)),
      };
    default:
      return { name: phys, arn: `arn:aws:mock:${REGION}:${ACCOUNT}:${type}/${phys}` };
  }
}

/** Records each resource into the graph; `touch` notes activity (see failedAndIdle). */
export function mocks(graph: StackGraph, touch: () => void): Mocks {
  return {
    newResource({ type, name, inputs }) {
      touch();
      const id = `${name}-id`;
      graph.resources.push({ type, name, id, inputs });
      return { id, state: { ...inputs, ...fakeState(type, name, inputs) } };
    },
    call({ token, inputs }) {
      touch();
      switch (token) {
        case "aws:index/getRegion:getRegion":
          return {
            id: REGION,
            name: REGION,
            region: REGION,
            description: "US East (N. Virginia)",
            endpoint: `ec2.${REGION}.amazonaws.com`,
          };
        case "aws:index/getCallerIdentity:getCallerIdentity":
          return { id: ACCOUNT, accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/test`, userId: "AIDTEST" };
        case "aws:index/getPartition:getPartition":
          return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
        case "aws:iam/getPolicyDocument:getPolicyDocument":
          return { ...inputs, id: "policy", json: policyJson(inputs) };
        default:
          graph.unhandled.push(`call ${token}`);
          return { ...inputs };
      }
    },
  };
}
