/** Named operator tokens with roles (CONTRACT §3): who may read, who may act, and who the audit log names. */
import { describe, expect, it } from "vitest";
import { buildApp } from "../../coordinator/app.ts";
import { OperatorSetupError, operatorTokens } from "../../coordinator/auth.ts";
import { configFromObject, parseConfig } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { configObject, secretOf, testCoordinator } from "../helpers.ts";

const ENV: Record<string, string> = {
  ALICE_TOKEN: "alice-secret-token",
  VIEWER_TOKEN: "viewer-secret-token",
  HEALTHMESH_API_TOKEN: "legacy-secret-token",
};
const OPERATORS = [
  { name: "alice", tokenEnv: "ALICE_TOKEN", role: "operate" },
  { name: "viewer", tokenEnv: "VIEWER_TOKEN", role: "read" },
];
const bearer = (token: string | undefined) => ({
  authorization: `Bearer ${token}`,
  "content-type": "application/json",
});

async function mesh(env: Record<string, string> = ENV) {
  const config = configFromObject({ ...configObject(), coordinator: { operators: OPERATORS } });
  const t = await testCoordinator({ config });
  const app = buildApp({
    coordinator: t.coordinator,
    clock: t.clock,
    log: silentLogger,
    operators: operatorTokens(config, (name) => env[name]),
    secretFor: (id) => secretOf(id),
  });
  return { ...t, app };
}

describe("operator tokens and roles", () => {
  it("writes the token's operator name as the actor, never the one in the request body", async () => {
    const t = await mesh();
    const response = await t.app.request("/v1/services/web/pause", {
      method: "POST",
      headers: bearer(ENV.ALICE_TOKEN),
      body: JSON.stringify({ actor: "mallory", reason: "maintenance" }),
    });
    expect(response.status).toBe(200);
    const pause = (await t.store.listEvents({})).find((e) => e.type === "pause");
    expect(pause?.actor).toBe("alice");
    expect(pause?.message).not.toContain("mallory");
  });

  it('names the coordinator.apiTokenEnv token\'s actions "operator"', async () => {
    const t = await mesh();
    const response = await t.app.request("/v1/services/web/failover", {
      method: "POST",
      headers: bearer(ENV.HEALTHMESH_API_TOKEN),
      body: JSON.stringify({ to: "secondary", actor: "someone-else" }),
    });
    expect(response.status).toBe(200);
    expect((await t.store.listEvents({})).find((e) => e.type === "pin")?.actor).toBe("operator");
  });

  it("answers 403 with a JSON error when a read token pauses, fails over or resumes, and changes nothing", async () => {
    const t = await mesh();
    const before = JSON.stringify(await t.store.listEvents({}));
    for (const [verb, body] of [
      ["pause", {}],
      ["resume", {}],
      ["failover", { to: "secondary" }],
    ] as const) {
      const response = await t.app.request(`/v1/services/web/${verb}`, {
        method: "POST",
        headers: bearer(ENV.VIEWER_TOKEN),
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({
        error: {
          code: "forbidden",
          message: `Operator "viewer" has the read role: ${verb} needs an operate token`,
        },
      });
    }
    expect(JSON.stringify(await t.store.listEvents({}))).toBe(before);
    expect(t.coordinator.service("web").mode).toBe("auto");
  });

  it("lets a read token see the status, the events and the status page's data", async () => {
    const t = await mesh();
    for (const path of ["/v1/status", "/v1/events", "/ui/state"]) {
      expect((await t.app.request(path, { headers: bearer(ENV.VIEWER_TOKEN) })).status, path).toBe(200);
    }
  });

  it("refuses an unknown token, a token of the right length, and no token with 401", async () => {
    const t = await mesh();
    const sameLength = "x".repeat(ENV.ALICE_TOKEN?.length ?? 0);
    for (const headers of [bearer("nope"), bearer(sameLength), {}]) {
      const response = await t.app.request("/v1/status", { headers });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    }
  });
});

describe("operatorTokens()", () => {
  const config = configFromObject({ ...configObject(), coordinator: { operators: OPERATORS } });

  it("names the missing variable and the operator's YAML path", () => {
    const { VIEWER_TOKEN: _missing, ...env } = ENV;
    expect(() => operatorTokens(config, (name) => env[name])).toThrow(
      'Missing operator token: set VIEWER_TOKEN (coordinator.operators[1].tokenEnv, operator "viewer")',
    );
  });

  it("refuses two operators with the same token: the audit log could not tell them apart", () => {
    const env: Record<string, string> = { ...ENV, VIEWER_TOKEN: ENV.ALICE_TOKEN ?? "" };
    expect(() => operatorTokens(config, (name) => env[name])).toThrow(OperatorSetupError);
    expect(() => operatorTokens(config, (name) => env[name])).toThrow(
      'Operators "alice" and "viewer" have the same token',
    );
  });

  it("keeps coordinator.apiTokenEnv alone valid, as one operate token named operator", () => {
    const plain = configFromObject(configObject());
    expect(operatorTokens(plain, (name) => ENV[name])).toEqual([
      { name: "operator", role: "operate", token: ENV.HEALTHMESH_API_TOKEN },
    ]);
    expect(() => operatorTokens(plain, () => undefined)).toThrow(
      /Missing API token: set .*HEALTHMESH_API_TOKEN/,
    );
  });

  it("validates operators in the config: roles, names, duplicates", () => {
    const paths = (operators: unknown[]) => {
      const result = parseConfig(JSON.stringify({ ...configObject(), coordinator: { operators } }));
      return result.ok ? [] : result.issues.map((i) => i.path);
    };
    expect(
      paths([
        { name: "alice", tokenEnv: "A", role: "admin" },
        { name: "no spaces", tokenEnv: "C" },
      ]),
    ).toEqual(["coordinator.operators[0].role", "coordinator.operators[1].name"]);
    expect(
      paths([
        { name: "alice", tokenEnv: "A", role: "operate" },
        { name: "alice", tokenEnv: "B" },
      ]),
    ).toEqual(["coordinator.operators[1].name"]);
  });
});
