/**
 * The Workers coordinator stays within its quota: the Worker answers `/healthz` and the pages itself
 * and refuses unauthenticated requests without waking the Durable Object. Decisions are tested on the
 * gate directly, then in workerd, where the object's SQLite file must not exist until an
 * authenticated request reaches it.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GateContext, gate } from "../../coordinator/worker-gate.ts";
import { configFromObject } from "../../shared/config.ts";
import { MAX_BODY_BYTES } from "../../shared/protocol.ts";
import { signedHeaders } from "../../shared/signing.ts";
import {
  bundleCoordinatorWorker,
  type CoordinatorWorker,
  startCoordinatorWorker,
} from "../edges/coordinator-worker-runtime.ts";
import { removeAll, tempDir } from "./support.ts";

const TOKEN = "gate-operator-token";
const SECRET = "gate-probe-secret";
const NOW = Date.UTC(2026, 11, 2, 12);

function rawConfig(coordinator: Record<string, unknown> = {}) {
  return {
    zone: "example.com",
    providers: { memory: {} },
    services: [
      {
        name: "web",
        router: "web-router",
        primary: { target: "a.example.net.", check: { url: "http://127.0.0.1:9/healthz" } },
        secondary: { target: "b.example.net.", check: { url: "http://127.0.0.1:9/healthz" } },
      },
    ],
    probes: { members: [{ id: "p1", provider: "edge", region: "eu", secretEnv: "SECRET_P1" }] },
    coordinator,
  };
}

function context(coordinator: Record<string, unknown> = {}): GateContext {
  return {
    config: configFromObject(rawConfig(coordinator)),
    operators: [{ name: "operator", role: "operate", token: TOKEN }],
    secretFor: (id) => (id === "p1" ? SECRET : undefined),
    nowMs: NOW,
  };
}

async function decide(request: Request, ctx = context()) {
  const decision = await gate(request, ctx);
  if ("forward" in decision) return { forwarded: decision.forward };
  return {
    status: decision.answer.status,
    body: await decision.answer.text(),
    headers: decision.answer.headers,
  };
}

async function signedReport(
  body: string,
  options: { secret?: string; probe?: string } = {},
): Promise<Request> {
  const headers = await signedHeaders(options.probe ?? "p1", options.secret ?? SECRET, body, NOW);
  return new Request("https://c.example/v1/reports", { method: "POST", body, headers });
}

describe("gate() in front of the coordinator object", () => {
  it("answers /healthz, the status page and the docs page itself", async () => {
    expect(await decide(new Request("https://c.example/healthz"))).toMatchObject({
      status: 200,
      body: '{"ok":true}',
    });
    const page = await decide(new Request("https://c.example/"));
    expect(page).toMatchObject({ status: 200 });
    expect("body" in page && page.body).toContain("healthmesh status");
    expect("headers" in page && page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(await decide(new Request("https://c.example/docs"))).toMatchObject({ status: 200 });
  });

  it("refuses the operator API, the page's data and unknown paths without the token, and forwards them with it", async () => {
    for (const path of ["/v1/status", "/v1/events", "/v1/services/web/pause", "/ui/state", "/anything"]) {
      const anonymous = await decide(new Request(`https://c.example${path}`, { method: "GET" }));
      expect(anonymous, path).toMatchObject({ status: 401 });
      expect("body" in anonymous && JSON.parse(anonymous.body).error.code).toBe("unauthorized");
      const wrong = await decide(
        new Request(`https://c.example${path}`, { headers: { authorization: "Bearer nope" } }),
      );
      expect(wrong, path).toMatchObject({ status: 401 });
      const right = await decide(
        new Request(`https://c.example${path}`, { headers: { authorization: `Bearer ${TOKEN}` } }),
      );
      expect("forwarded" in right, path).toBe(true);
    }
  });

  it("forwards anonymous views only where the config makes them public", async () => {
    expect("forwarded" in (await decide(new Request("https://c.example/metrics")))).toBe(true);
    expect("forwarded" in (await decide(new Request("https://c.example/openapi.json")))).toBe(true);
    const locked = context({ protectMetrics: true });
    expect(await decide(new Request("https://c.example/metrics"), locked)).toMatchObject({ status: 401 });
    const open = context({ publicStatusPage: true });
    expect("forwarded" in (await decide(new Request("https://c.example/ui/state"), open))).toBe(true);
  });

  it("forwards a correctly signed report with its body, and refuses forged, unknown and oversized ones", async () => {
    const body = JSON.stringify({ id: "r1", probe: "p1" });
    const good = await decide(await signedReport(body));
    expect("forwarded" in good && (await good.forwarded.text())).toBe(body);
    const forged = await decide(await signedReport(body, { secret: "guessed" }));
    expect("body" in forged && JSON.parse(forged.body).error.code).toBe("bad_signature");
    const unknown = await decide(await signedReport(body, { probe: "stranger" }));
    expect("body" in unknown && JSON.parse(unknown.body).error.code).toBe("unknown_probe");
    const huge = await decide(await signedReport("x".repeat(MAX_BODY_BYTES + 1)));
    expect(huge).toMatchObject({ status: 413 });
  });

  it("forwards a probe's own signed assignments request only", async () => {
    const headers = await signedHeaders("p1", SECRET, "", NOW);
    expect(
      "forwarded" in (await decide(new Request("https://c.example/v1/probes/p1/assignments", { headers }))),
    ).toBe(true);
    const other = await decide(new Request("https://c.example/v1/probes/p2/assignments", { headers }));
    expect("body" in other && JSON.parse(other.body).error.code).toBe("probe_mismatch");
    const unsigned = await decide(new Request("https://c.example/v1/probes/p1/assignments"));
    expect(unsigned).toMatchObject({ status: 401 });
  });
});

describe("the coordinator Worker in workerd", () => {
  let bundle: { dir: string; file: string };
  let worker: CoordinatorWorker;
  let persistDir: string;
  const output: string[] = [];

  beforeAll(async () => {
    bundle = await bundleCoordinatorWorker();
    persistDir = tempDir("healthmesh-gate-do-");
    worker = await startCoordinatorWorker(bundle.file, {
      persistDir,
      output,
      bindings: {
        HEALTHMESH_CONFIG: JSON.stringify(rawConfig()),
        HEALTHMESH_API_TOKEN: TOKEN,
        SECRET_P1: SECRET,
      },
    });
  }, 120_000);

  afterAll(async () => {
    await worker?.close();
    removeAll([bundle?.dir ?? "", persistDir ?? ""]);
  });

  /** The objects' SQLite files: workerd creates one (named by the object's id) when an object first runs. */
  function objectFiles(): string[] {
    return readdirSync(persistDir, { recursive: true, encoding: "utf8" }).filter(
      (name) => name.endsWith(".sqlite") && !name.endsWith("metadata.sqlite"),
    );
  }

  it("answers anonymous traffic without creating the Durable Object, then reaches it with the token", async () => {
    expect((await fetch(`${worker.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${worker.url}/`)).text()).toContain("healthmesh status");
    expect((await fetch(`${worker.url}/v1/status`)).status).toBe(401);
    expect((await fetch(`${worker.url}/ui/state`)).status).toBe(401);
    const forged = await fetch(`${worker.url}/v1/reports`, {
      method: "POST",
      body: "{}",
      headers: await signedHeaders("p1", "guessed", "{}", Date.now()),
    });
    expect(forged.status).toBe(401);
    expect(objectFiles(), output.join("")).toEqual([]);

    const status = await fetch(`${worker.url}/v1/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(status.status, output.join("")).toBe(200);
    expect(((await status.json()) as { zone: string }).zone).toBe("example.com");
    expect(objectFiles().length).toBe(1);
  });

  it("answers a config problem itself, naming the missing secret", async () => {
    const broken = await startCoordinatorWorker(bundle.file, {
      persistDir: join(persistDir, "broken"),
      output,
      bindings: { HEALTHMESH_CONFIG: JSON.stringify(rawConfig()), HEALTHMESH_API_TOKEN: TOKEN },
    });
    try {
      const answer = await fetch(`${broken.url}/healthz`);
      expect(answer.status).toBe(500);
      expect(await answer.text()).toContain("SECRET_P1");
    } finally {
      await broken.close();
    }
  });
});
