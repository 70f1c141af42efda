/** `caught(promise)`: the AppError a call rejects with; the test fails when it resolves or rejects otherwise. */
import { expect } from "vitest";
import { AppError } from "../../core/errors.ts";

export async function caught(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}
