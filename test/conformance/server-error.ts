import { expect } from "bun:test";

/** A MongoDB error as both the embedded engine and the driver expose it. */
export interface ServerErrorSpec {
  code: number;
  codeName: string;
}

/**
 * MongoDB's error codes the suite expects, with the names mongod gives them. (A write error
 * reaching the driver carries only the code; a command error and the engine carry both.)
 */
export const E = {
  BadValue: { code: 2, codeName: "BadValue" },
  FailedToParse: { code: 9, codeName: "FailedToParse" },
  TypeMismatch: { code: 14, codeName: "TypeMismatch" },
  PathNotViable: { code: 28, codeName: "PathNotViable" },
  ConflictingUpdateOperators: { code: 40, codeName: "ConflictingUpdateOperators" },
  ImmutableField: { code: 66, codeName: "ImmutableField" },
  InvalidOptions: { code: 72, codeName: "InvalidOptions" },
  DuplicateKey: { code: 11000, codeName: "DuplicateKey" },
  UnknownField: { code: 40415, codeName: "Location40415" },
  NotImplemented: { code: 238, codeName: "NotImplemented" },
} as const satisfies Record<string, ServerErrorSpec>;

/** Awaits `action`, expecting MongoDB's error `spec` (its code, and its codeName when present). */
export async function expectServerError(
  action: Promise<unknown> | (() => Promise<unknown>),
  spec: ServerErrorSpec,
): Promise<Error> {
  let error: unknown;
  try {
    await (typeof action === "function" ? action() : action);
  } catch (err) {
    error = err;
  }
  if (!(error instanceof Error))
    throw new Error(`expected ${spec.codeName} (${spec.code}), but the operation succeeded`);
  const { code, codeName } = error as Error & { code?: unknown; codeName?: unknown };
  expect({ code, message: error.message }).toMatchObject({ code: spec.code });
  if (codeName !== undefined) expect(codeName).toBe(spec.codeName);
  return error;
}
