/**
 * What Lambda's SQS event source mapping does around a handler: ReceiveMessage output becomes
 * `SQSEvent` records, and the handler's answer (with ReportBatchItemFailures on) decides which
 * messages are deleted.
 */
import type { Message, MessageAttributeValue } from "@aws-sdk/client-sqs";
import type { SQSMessageAttributes, SQSRecord } from "aws-lambda";

export function toSqsRecord(m: Message, queueArn: string, region: string): SQSRecord {
  const a = m.Attributes ?? {};
  const attributes: SQSRecord["attributes"] = {
    ApproximateReceiveCount: a.ApproximateReceiveCount ?? "1",
    SentTimestamp: a.SentTimestamp ?? String(Date.now()),
    SenderId: a.SenderId ?? "000000000000",
    ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
  };
  for (const k of ["AWSTraceHeader", "SequenceNumber", "MessageGroupId", "MessageDeduplicationId"] as const) {
    if (a[k] !== undefined) attributes[k] = a[k];
  }
  const record: SQSRecord = {
    messageId: m.MessageId ?? "",
    receiptHandle: m.ReceiptHandle ?? "",
    body: m.Body ?? "",
    attributes,
    messageAttributes: toRecordAttributes(m.MessageAttributes),
    md5OfBody: m.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: region,
  };
  if (m.MD5OfMessageAttributes) record.md5OfMessageAttributes = m.MD5OfMessageAttributes;
  return record;
}

/** The SDK's `StringValue` / `BinaryValue` become Lambda's camel-cased, base64 for binary. */
function toRecordAttributes(attrs: Record<string, MessageAttributeValue> | undefined): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, v] of Object.entries(attrs ?? {})) {
    out[name] = {
      stringValue: v.StringValue,
      binaryValue: v.BinaryValue ? Buffer.from(v.BinaryValue).toString("base64") : undefined,
      stringListValues: v.StringListValues ?? [],
      binaryListValues: (v.BinaryListValues ?? []).map((b) => Buffer.from(b).toString("base64")),
      dataType: v.DataType ?? "String",
    };
  }
  return out;
}

export type BatchVerdict =
  | { kind: "all-succeeded" }
  | { kind: "partial"; failed: Set<string> }
  | { kind: "all-failed"; reason: string };

/**
 * Lambda's rules with ReportBatchItemFailures: nothing returned, or no / null / empty
 * `batchItemFailures`, is a full success; listed ids are retried; an entry whose
 * `itemIdentifier` is missing, empty or not in the batch fails the whole batch, as does a
 * `batchItemFailures` that is not a list.
 */
export function interpretBatchResponse(result: unknown, messageIds: readonly string[]): BatchVerdict {
  if (result === undefined || result === null || typeof result !== "object") return { kind: "all-succeeded" };
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: "all-succeeded" };
  if (!Array.isArray(failures)) return { kind: "all-failed", reason: "batchItemFailures is not a list" };
  const ids = new Set(messageIds);
  const failed = new Set<string>();
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== "string" || id === "" || !ids.has(id)) {
      return { kind: "all-failed", reason: `invalid itemIdentifier ${JSON.stringify(id)}` };
    }
    failed.add(id);
  }
  return failed.size ? { kind: "partial", failed } : { kind: "all-succeeded" };
}
