import Ajv2020 from "ajv/dist/2020";
import addFormats from "ajv-formats";

/**
 * Reading `/openapi.json` as a contract: its operations by operationId, and a check of an actual
 * answer (status, content type, body) against what the document says that operation answers.
 * The document is OpenAPI 3.1, whose schemas are JSON Schema 2020-12: Ajv's 2020 dialect reads
 * them as they are, `$ref`s into components included.
 */

export interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, OperationObject>>;
  components?: Record<string, unknown>;
}

export interface OperationObject {
  operationId?: string;
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: {
    required?: boolean;
    content: Record<string, { schema?: unknown; example?: unknown }>;
  };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

export interface Operation {
  id: string;
  method: string;
  path: string;
  op: OperationObject;
}

const METHODS = new Set(["get", "put", "post", "delete", "patch", "head", "options", "trace"]);

/** Every operation of the document, keyed by operationId (which must be there and unique). */
export function operations(doc: OpenApiDoc): Map<string, Operation> {
  const out = new Map<string, Operation>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      const id = op.operationId;
      if (!id) throw new Error(`${method.toUpperCase()} ${path} has no operationId`);
      if (out.has(id)) throw new Error(`operationId ${id} is used twice`);
      out.set(id, { id, method: method.toUpperCase(), path, op });
    }
  }
  return out;
}

const pointer = (...parts: string[]) =>
  parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");

export interface ResponseChecker {
  /** What is wrong with this answer for this operation; empty when the document describes it. */
  check(op: Operation, status: number, contentType: string | null, body: unknown): string[];
  /** What is wrong with a request body example against its own schema. */
  checkExample(op: Operation): string[];
  /** What is wrong with a value against a named component schema. */
  checkComponent(name: string, value: unknown): string[];
}

export function responseChecker(doc: OpenApiDoc): ResponseChecker {
  // strictSchema off: the document carries OpenAPI keywords (`example`) and non-schema members
  // around the schemas; every other strictness stays on.
  const ajv = new Ajv2020({ allErrors: true, strictSchema: false });
  addFormats(ajv);
  const id = "urn:cachesync:openapi";
  ajv.addSchema(doc as object, id);
  const validator = (...at: string[]) => {
    const v = ajv.getSchema(`${id}#/${pointer(...at)}`);
    if (!v) throw new Error(`no schema at ${at.join(" ")}`);
    return v;
  };
  const explain = (errors: typeof ajv.errors) =>
    (errors ?? []).slice(0, 5).map((e) => `${e.instancePath || "/"} ${e.message}`);

  return {
    check(op, status, contentType, body) {
      const where = `${op.id} ${status}`;
      const response = op.op.responses[String(status)];
      if (!response) {
        const documented = Object.keys(op.op.responses).join(", ");
        return [`${where}: status not documented (documented: ${documented})`];
      }
      const media = (contentType ?? "").split(";")[0]?.trim() ?? "";
      if (!response.content) return media ? [`${where}: documented without a body`] : [];
      if (!response.content[media])
        return [`${where}: content type ${media || "(none)"} not documented`];
      if (!response.content[media]?.schema) return [];
      const schema = validator(
        "paths",
        op.path,
        op.method.toLowerCase(),
        "responses",
        String(status),
        "content",
        media,
        "schema",
      );
      return schema(body) ? [] : explain(schema.errors).map((e) => `${where}: body ${e}`);
    },
    checkComponent(name, value) {
      const schema = validator("components", "schemas", name);
      return schema(value) ? [] : explain(schema.errors).map((e) => `${name}: ${e}`);
    },
    checkExample(op) {
      const content = op.op.requestBody?.content?.["application/json"];
      if (!content || content.example === undefined) return [];
      const schema = validator(
        "paths",
        op.path,
        op.method.toLowerCase(),
        "requestBody",
        "content",
        "application/json",
        "schema",
      );
      return schema(content.example)
        ? []
        : explain(schema.errors).map((e) => `${op.id} request example: ${e}`);
    },
  };
}
