import { describe, expect, it } from "vitest";
import { TOKEN, testCoordinator } from "../helpers.ts";

const auth = { authorization: `Bearer ${TOKEN}` };
const post = (body: unknown) => ({
  method: "POST",
  headers: { ...auth, "content-type": "application/json" },
  body: JSON.stringify(body),
});

describe("operator API", () => {
  it("answers /healthz without a token", async () => {
    const t = await testCoordinator();
    const response = await t.app.request("/healthz");
    expect(await response.json()).toEqual({ ok: true });
  });

  it.each(["/v1/status", "/v1/events"])("refuses %s without or with a wrong token", async (path) => {
    const t = await testCoordinator();
    expect((await t.app.request(path)).status).toBe(401);
    const wrong = await t.app.request(path, { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
  });

  it("refuses operator actions without a token and changes nothing", async () => {
    const t = await testCoordinator();
    const response = await t.app.request("/v1/services/web/failover", {
      method: "POST",
      body: JSON.stringify({ to: "secondary" }),
    });
    expect(response.status).toBe(401);
    expect(t.coordinator.service("web")).toMatchObject({ active: "primary", mode: "auto" });
  });

  it("serves the status of services, probes and DNS per provider", async () => {
    const t = await testCoordinator();
    await t.report("p1", { primary: true, secondary: true });
    const status = (await (await t.app.request("/v1/status", { headers: auth })).json()) as {
      services: {
        name: string;
        active: string;
        mode: string;
        primary: { verdict: string; votes: unknown };
        dns: Record<string, { state: string; target: string }>;
      }[];
      probes: { id: string; lastSeen: string | null; healthy: boolean }[];
    };
    expect(status.services[0]).toMatchObject({
      name: "web",
      active: "primary",
      mode: "auto",
      primary: { verdict: "unknown", votes: { up: 0, down: 0, abstain: 3 } },
    });
    expect(status.services[0]?.dns.memory).toMatchObject({
      state: "in-sync",
      target: "cf-front.example.com.",
    });
    expect(status.probes.map((p) => [p.id, p.lastSeen !== null])).toEqual([
      ["p1", true],
      ["p2", false],
      ["p3", false],
    ]);
  });

  it("pins, pauses and resumes through the API, each in the audit log with the token's operator as actor", async () => {
    const t = await testCoordinator();
    const pinned = await t.app.request(
      "/v1/services/web/failover",
      post({ to: "secondary", reason: "drill", actor: "carol" }),
    );
    expect(pinned.status).toBe(200);
    expect(await pinned.json()).toMatchObject({ name: "web", active: "secondary", mode: "pinned" });
    expect((await t.app.request("/v1/services/web/pause", post({}))).status).toBe(200);
    expect((await t.app.request("/v1/services/web/resume", { method: "POST", headers: auth })).status).toBe(
      200,
    );
    const { events } = (await (await t.app.request("/v1/events", { headers: auth })).json()) as {
      events: { type: string; actor?: string }[];
    };
    expect(events.filter((e) => e.actor).map((e) => [e.type, e.actor])).toEqual([
      ["pin", "operator"], // the token's name (coordinator.apiTokenEnv's), never the body's "carol"
      ["pause", "operator"],
      ["resume", "operator"],
    ]);
  });

  it.each([
    { body: { to: "tertiary" }, status: 400, code: "invalid_body" },
    { body: { to: "secondary", extra: 1 }, status: 400, code: "invalid_body" },
    { body: "{not json", status: 400, code: "malformed_json", raw: true },
  ])("refuses a bad failover body ($code) and changes nothing", async ({ body, status, code, raw }) => {
    const t = await testCoordinator();
    const init = raw ? { method: "POST", headers: auth, body: body as string } : post(body);
    const response = await t.app.request("/v1/services/web/failover", init);
    expect(response.status).toBe(status);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
    expect(t.coordinator.service("web")).toMatchObject({ active: "primary", mode: "auto" });
  });

  it("answers 404 with a JSON error for an unknown service", async () => {
    const t = await testCoordinator();
    const response = await t.app.request("/v1/services/nope/pause", post({}));
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe(
      'Unknown service "nope"',
    );
  });

  it("filters events with ?since= and refuses a bad time with 400", async () => {
    const t = await testCoordinator();
    await t.clock.advance(60_000);
    const cut = new Date(t.clock.now()).toISOString();
    await t.coordinator.pause("web", { actor: "dave" });
    const { events } = (await (await t.app.request(`/v1/events?since=${cut}`, { headers: auth })).json()) as {
      events: { type: string }[];
    };
    expect(events.map((e) => e.type)).toEqual(["pause"]);
    expect((await t.app.request("/v1/events?since=yesterday", { headers: auth })).status).toBe(400);
  });

  it("pages the audit log: newest events by default, then forward with after= and more", async () => {
    const t = await testCoordinator();
    for (let i = 0; i < 1200; i++)
      await t.coordinator.recordEvent({ at: t.clock.now(), type: "test.tick", message: `tick ${i}` });
    type Page = { events: { id: number; message: string }[]; more: boolean };
    const get = async (query: string) =>
      (await (await t.app.request(`/v1/events${query}`, { headers: auth })).json()) as Page;
    const tail = await get("?limit=5");
    expect(tail.events.map((e) => e.message)).toEqual([
      "tick 1195",
      "tick 1196",
      "tick 1197",
      "tick 1198",
      "tick 1199",
    ]);
    expect(tail.more).toBe(false);
    const first = await get("?after=0");
    expect(first.events).toHaveLength(1000);
    expect(first.more).toBe(true);
    const rest = await get(`?after=${first.events.at(-1)?.id}`);
    expect(rest.more).toBe(false);
    expect(rest.events.at(-1)?.message).toBe("tick 1199");
    expect(first.events.length + rest.events.length).toBe(tail.events.at(-1)?.id);
    expect((await t.app.request("/v1/events?after=-1", { headers: auth })).status).toBe(400);
  });
});
