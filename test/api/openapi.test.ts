import { describe, expect, it } from "vitest";
import { TOKEN, testCoordinator } from "../helpers.ts";

const auth = { authorization: `Bearer ${TOKEN}` };

interface Operation {
  security?: Record<string, unknown>[];
  parameters?: { name: string; in: string; schema?: { type?: string; minimum?: number; maximum?: number } }[];
  requestBody?: { required?: boolean; content: Record<string, { schema: { $ref?: string } }> };
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<
      string,
      {
        required?: string[];
        properties?: Record<string, { enum?: string[]; $ref?: string }>;
        additionalProperties?: boolean;
      }
    >;
    securitySchemes: Record<string, unknown>;
  };
}

async function documentOf() {
  const t = await testCoordinator();
  const response = await t.app.request("/openapi.json");
  expect(response.status).toBe(200);
  return { t, doc: (await response.json()) as Document };
}

describe("GET /openapi.json", () => {
  it("documents every route the app serves, and nothing it does not serve", async () => {
    const { t, doc } = await documentOf();
    const served = new Set(
      t.app.routes
        .filter((r) => r.method !== "ALL") // middleware (auth) entries, not routes
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([^/]+)/g, "{$1}")}`),
    );
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method} ${path}`),
      ),
    );
    expect([...served].sort()).toEqual([...documented].sort());
    for (const route of [
      "get /healthz",
      "post /v1/reports",
      "get /v1/probes/{id}/assignments",
      "get /v1/status",
      "get /v1/events",
      "post /v1/services/{name}/failover",
      "post /v1/services/{name}/pause",
      "post /v1/services/{name}/resume",
      "get /metrics",
      "get /openapi.json",
      "get /docs",
      "get /",
    ]) {
      expect(documented).toContain(route);
    }
    expect(doc.openapi).toBe("3.1.0");
  });

  it("gives every refusal the one error schema and every /v1 route its security", async () => {
    const { doc } = await documentOf();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const [status, response] of Object.entries(op.responses)) {
          if (Number(status) >= 400)
            expect(response.content?.["application/json"]?.schema.$ref, `${method} ${path} ${status}`).toBe(
              "#/components/schemas/Error",
            );
        }
        if (path.startsWith("/v1/")) expect(op.security?.length, `${method} ${path}`).toBeGreaterThan(0);
      }
    }
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["bearerAuth", "probeSignature"]);
  });

  it("describes bodies and queries with the schemas the routes validate with", async () => {
    const { t, doc } = await documentOf();
    const failover = doc.paths["/v1/services/{name}/failover"]?.post;
    expect(failover?.requestBody?.content["application/json"]?.schema.$ref).toBe(
      "#/components/schemas/FailoverBody",
    );
    const body = doc.components.schemas.FailoverBody;
    expect(body?.required).toEqual(["to"]);
    expect(body?.additionalProperties).toBe(false);
    // what the document says is refused is refused, in the one error shape
    const refused = await t.app.request("/v1/services/web/failover", {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ to: "secondary", extra: 1 }),
    });
    expect(refused.status).toBe(400);
    const error = ((await refused.json()) as { error: { code: string; issues: { code: string }[] } }).error;
    expect(error.code).toBe("invalid_body");
    expect(error.issues[0]?.code).toBe("unrecognized_keys");
    const limit = doc.paths["/v1/events"]?.get?.parameters?.find((p) => p.name === "limit");
    expect(limit).toMatchObject({ in: "query", schema: { type: "integer", minimum: 1, maximum: 10_000 } });
    const tooMany = await t.app.request("/v1/events?limit=10001", { headers: auth });
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toMatchObject({
      error: { code: "invalid_query", message: 'Invalid "limit" value "10001": use 1 to 10000' },
    });
  });

  it("documents the probe protocol's report from its own schema", async () => {
    const { doc } = await documentOf();
    const report = doc.components.schemas.Report;
    expect(report?.required).toEqual(["id", "probe", "sentAt", "healthy", "results"]);
    expect(report?.additionalProperties).toBe(false);
    const op = doc.paths["/v1/reports"]?.post;
    expect(op?.requestBody?.content["application/json"]?.schema.$ref).toBe("#/components/schemas/Report");
    expect(Object.keys(op?.responses ?? {}).sort()).toEqual(["202", "400", "401", "413", "429"]);
    expect(op?.parameters?.map((p) => p.name)).toEqual([
      "x-healthmesh-probe",
      "x-healthmesh-timestamp",
      "x-healthmesh-signature",
    ]);
  });
});

describe("GET /docs", () => {
  it("renders the document with nothing loaded from another origin", async () => {
    const t = await testCoordinator();
    const response = await t.app.request("/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    expect(response.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await response.text();
    expect(html).toContain('fetch("openapi.json"');
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(\s*["']?https?:/i);
  });
});
