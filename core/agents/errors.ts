/** The agents domain's errors. */
import { AppError, ConflictError, ForbiddenError, NotFoundError } from "../errors.ts";

export class AgentNotFoundError extends NotFoundError {
  override name = "AgentNotFoundError";
  constructor(id: string) {
    super("Agent instance", id, "agents.not_found");
  }
}

export class MessageNotFoundError extends NotFoundError {
  override name = "MessageNotFoundError";
  constructor(id: string) {
    super("Message", id, "agents.message_not_found");
  }
}

export class InvokeNotFoundError extends NotFoundError {
  override name = "InvokeNotFoundError";
  constructor(id: string) {
    super("Invoke", id, "agents.invoke_not_found");
  }
}

/** 409: a message that is not a dead letter cannot be replayed. */
export class MessageNotDeadError extends ConflictError {
  override name = "MessageNotDeadError";
  constructor(id: string) {
    super("agents.message_not_dead", `Message ${id} is not a dead letter`, { details: { message_id: id } });
  }
}

/** 409: the invoke was already answered (completed, failed, canceled or late). */
export class InvokeAnsweredError extends ConflictError {
  override name = "InvokeAnsweredError";
  constructor(id: string, status: string) {
    super("agents.invoke_answered", `Invoke ${id} is already ${status}`, { details: { invoke_id: id, status } });
  }
}

/** 403: the instance named by X-AOS-Agent-Id is not the invoke's target. */
export class NotInvokeTargetError extends ForbiddenError {
  override name = "NotInvokeTargetError";
  constructor(id: string) {
    super(`Only the target instance may answer invoke ${id}`, "agents.not_target", { invoke_id: id });
  }
}

/** 403: only the invoke's caller (the instance of X-AOS-Agent-Id, or the key that called as itself) may cancel it. */
export class NotInvokeCallerError extends ForbiddenError {
  override name = "NotInvokeCallerError";
  constructor(id: string) {
    super(`Only the caller may cancel invoke ${id}`, "agents.not_caller", { invoke_id: id });
  }
}

/** 410: the instance was deregistered; it sends, receives, heartbeats and is invoked no more. */
export class AgentDeregisteredError extends AppError {
  override name = "AgentDeregisteredError";
  constructor(id: string, at: string) {
    super("gone", "agents.deregistered", `Agent instance ${id} was deregistered`, {
      details: { id, deregistered_at: at },
      retryable: false,
    });
  }
}

/**
 * Not thrown to a client: what a failed invoke (the target answered with an error) is recorded
 * as in the failure catalog (`agents.invoke_failed`); the caller got 200 with status failed.
 */
export class InvokeFailedError extends AppError {
  override name = "InvokeFailedError";
  constructor(id: string, message: string) {
    super("bad_gateway", "agents.invoke_failed", `Invoke ${id} failed: ${message.slice(0, 2000)}`, {
      details: { invoke_id: id },
      retryable: false,
    });
  }
}

/** 504: the target did not answer before the deadline; the invoke stays answerable (a late answer is recorded). */
export class InvokeTimeoutError extends AppError {
  override name = "InvokeTimeoutError";
  constructor(id: string, timeoutS: number) {
    super("timeout", "agents.invoke_timeout", `Invoke ${id} got no answer within ${timeoutS} s`, {
      details: { invoke_id: id, timeout_s: timeoutS },
      retryable: false,
    });
  }
}

export class BlackboardEntryNotFoundError extends NotFoundError {
  override name = "BlackboardEntryNotFoundError";
  constructor(ns: string, key: string) {
    super("Blackboard entry", `${ns}/${key}`, "blackboard.not_found");
  }
}

/** 409: compare-and-set refused; `details.current_version` is the entry's version now (0: absent). */
export class BlackboardVersionError extends ConflictError {
  override name = "BlackboardVersionError";
  constructor(ns: string, key: string, expected: number, current: number) {
    super("blackboard.version_mismatch", `${ns}/${key} is at version ${current}, not ${expected}`, {
      details: { ns, key, expected_version: expected, current_version: current },
    });
  }
}
