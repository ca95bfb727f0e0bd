/** The one error type routes throw; `app.onError` turns it into `{error:{code,message,issues?}}`. */
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ErrorBody } from "../shared/protocol.ts";

/** An HTTP refusal with a JSON body. */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly issues?: unknown[],
  ) {
    super(message);
    this.name = "HttpError";
  }

  /** The JSON body of this refusal. */
  body(): ErrorBody {
    return {
      error: { code: this.code, message: this.message, ...(this.issues ? { issues: this.issues } : {}) },
    };
  }
}
