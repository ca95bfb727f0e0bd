/** `--coordinator A,B,C`: the CLI uses the first coordinator that answers (CONTRACT §8). */
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callApi } from "../../cli/util.ts";

const token = { name: "OPS_TOKEN", value: "t" };

describe("callApi() with several coordinators", () => {
  let server: Server;
  let live = "";
  const hits: string[] = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      hits.push(`${request.method} ${request.url}`);
      response.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    const address = server.address();
    live = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("skips a coordinator that does not answer and uses the next one", async () => {
    expect(await callApi(`http://127.0.0.1:9,${live}`, "/v1/status", { token })).toEqual({ ok: true });
    expect(hits).toEqual(["GET /v1/status"]);
  });

  it("names every coordinator it tried when none answers", async () => {
    const error = await callApi("http://127.0.0.1:9, http://127.0.0.1:7", "/v1/status", { token }).catch(
      (e: unknown) => e,
    );
    expect(String(error)).toContain("Cannot reach any coordinator of");
    expect(String(error)).toContain("http://127.0.0.1:7: ");
  });

  it("refuses a malformed URL anywhere in the list before calling any", async () => {
    await expect(callApi(`${live},nope`, "/v1/status", { token })).rejects.toThrow(
      'Invalid --coordinator URL "nope"',
    );
  });
});
