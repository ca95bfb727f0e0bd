/** Pieces every documented route shares: JSON content, error responses, the validation hook, body reading. */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ZodType } from "zod";
import { errorSchema } from "../../shared/api-schema.ts";
import { HttpError } from "../http-error.ts";

/** The security requirement of the operator API (bearer token). */
export const bearerAuth = [{ bearerAuth: [] }];
/** The security requirement of probe routes (HMAC signature headers). */
export const probeSignature = [{ probeSignature: [] }];

/** A JSON response entry for `responses`. */
export function jsonContent<T extends ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

const errorDescriptions: Record<number, string> = {
  400: "Malformed JSON, or input that fails the schema (`issues` lists why)",
  401: "Missing or invalid credentials",
  404: "Unknown service",
  409: "The service's state forbids the action",
  413: "Body too large",
  429: "Too many reports wait to be stored: retry after `Retry-After` seconds; nothing changed",
};

/** `responses` entries for the given refusal statuses, all in the `{error:{code,message,issues?}}` shape. */
export function errorResponses(...statuses: (400 | 401 | 404 | 409 | 413 | 429)[]) {
  return Object.fromEntries(
    statuses.map((status) => [status, jsonContent(errorSchema, errorDescriptions[status] ?? "Refused")]),
  );
}

const targetCodes: Record<string, { code: string; what: string }> = {
  json: { code: "invalid_body", what: "Body does not match the schema" },
  query: { code: "invalid_query", what: "Query does not match the schema" },
  param: { code: "invalid_param", what: "Path parameter does not match the schema" },
  header: { code: "invalid_header", what: "Headers do not match the schema" },
};

/**
 * The `defaultHook` of the app: a failed zod validation becomes a 400 `HttpError`, thrown so that
 * `app.onError` writes it like every other refusal. Query and parameter messages name the value.
 */
export function validationHook(result: ValidationResult): void {
  if (result.success) return;
  const known = targetCodes[result.target] ?? {
    code: "invalid_input",
    what: "Input does not match the schema",
  };
  const first = result.error.issues[0]?.message;
  const message = result.target === "json" || first === undefined ? known.what : first;
  throw new HttpError(400, known.code, message, result.error.issues);
}

/** What `@hono/zod-openapi` hands a hook (only the parts the hook reads). */
type ValidationResult = { target: string } & (
  | { success: true }
  | { success: false; error: { issues: { message: string }[] } }
);

/**
 * Reads a JSON request body of at most `maxBytes` before validation: 413 when larger (counted while
 * streaming, whatever Content-Length says), `{}` when empty, 400 `malformed_json` when not JSON. It
 * then hands the body on as `application/json`, so a client that forgot the content type is judged
 * by the schema, as before the routes were documented.
 */
export function jsonBody(maxBytes: number): MiddlewareHandler[] {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new HttpError(413, "too_large", `Request body is larger than ${maxBytes / 1024} KiB`);
    },
  });
  const normalize: MiddlewareHandler = async (c, next) => {
    const text = await c.req.raw.text();
    const normalized = text.trim() === "" ? "{}" : text;
    try {
      JSON.parse(normalized);
    } catch (error) {
      throw new HttpError(400, "malformed_json", `Body is not valid JSON: ${(error as Error).message}`); // JSON.parse throws SyntaxError
    }
    const headers = new Headers(c.req.raw.headers);
    headers.set("content-type", "application/json");
    headers.delete("content-length");
    c.req.raw = new Request(c.req.url, { method: c.req.method, headers, body: normalized });
    await next();
  };
  return [limit, normalize];
}
