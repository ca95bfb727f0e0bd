import { afterEach, describe, expect, it, vi } from "vitest";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { MemoryDnsProvider } from "../../coordinator/dns/memory.ts";
import { PullLoop } from "../../coordinator/pull.ts";
import { MemoryStore } from "../../coordinator/store/memory.ts";
import { createPullProbe } from "../../probes/pull.ts";
import { ManualClock } from "../../shared/clock.ts";
import { silentLogger } from "../../shared/log.ts";
import { reportSchema } from "../../shared/protocol.ts";
import { verifySignature } from "../../shared/signing.ts";
import { meshConfig, meshEnv, routedFetch, secretEnv, type TestMember } from "./fixtures.ts";

const PRIMARY = "https://primary.test/healthz";
const SECONDARY = "https://secondary.test/healthz";

const members: TestMember[] = ["deno-fra", "cf-ams", "deno-iad"].map((id, i) => ({
  id,
  provider: i === 1 ? "cloudflare-workers" : "deno-deploy",
  mode: "pull",
  url: `https://${id}.probe.test`,
}));

type ProbeBehaviour = "answer" | "hang" | "wrong-secret" | "no-canary" | "refused";

const open: Coordinator[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.stop();
});

/** A coordinator on a manual clock whose pull loop reaches in-process pull probes through a fake fetch. */
async function mesh(
  behaviours: Record<string, ProbeBehaviour>,
  options: { canaries?: string[]; confirmInterval?: string } = {},
) {
  const clock = new ManualClock();
  const web = { primaryUp: true };
  const env = meshEnv(members);
  const config = meshConfig({
    primaryUrl: PRIMARY,
    secondaryUrl: SECONDARY,
    members,
    interval: "1s",
    pullTimeout: "2s",
    ...(options.canaries ? { canaries: options.canaries } : {}),
    ...(options.confirmInterval ? { confirmInterval: options.confirmInterval } : {}),
  });
  const coordinator = await Coordinator.open({
    config,
    store: new MemoryStore(),
    clock,
    log: silentLogger,
    providers: [new MemoryDnsProvider()],
  });
  open.push(coordinator);
  const routes: Parameters<typeof routedFetch>[0] = {};
  for (const member of members) {
    const behaviour = behaviours[member.id] ?? "answer";
    const probeWeb = routedFetch({
      [PRIMARY]: () => (web.primaryUp ? new Response("ok") : new Response("down", { status: 503 })),
      [SECONDARY]: () => new Response("ok"),
      ...(behaviour === "no-canary" ? {} : { "https://canary.test/": () => new Response("hi") }),
    });
    const secret =
      behaviour === "wrong-secret" ? "not-the-configured-secret" : (env[secretEnv(member.id)] ?? "");
    const probe = createPullProbe({
      id: member.id,
      secret,
      coordinators: [],
      fetch: probeWeb,
      clock,
      log: silentLogger,
    });
    if (behaviour === "refused") continue;
    routes[`${member.url}/`] =
      behaviour === "hang"
        ? (request) =>
            new Promise<Response>((_, reject) =>
              request.signal.addEventListener("abort", () => reject(request.signal.reason)),
            )
        : (request) => probe.handle(request);
  }
  const fetch = routedFetch(routes);
  const loop = new PullLoop({
    coordinator,
    secretFor: (id) => env[secretEnv(id)],
    fetch,
    clock,
    log: silentLogger,
  });
  return { clock, web, coordinator, loop, fetch, env };
}

function votesOf(coordinator: Coordinator) {
  return coordinator.verdicts("web").counted.primary.map((v) => [v.probe, v.vote]);
}

describe("PullLoop", () => {
  it("round() pulls every member and their reports fail the primary over by majority", async () => {
    const { web, coordinator, loop } = await mesh({});
    web.primaryUp = false;
    const first = await loop.round();
    expect(first.map((o) => o.ok)).toEqual([true, true, true]);
    expect(coordinator.service("web").active).toBe("primary");
    await loop.round();
    expect(votesOf(coordinator)).toEqual([
      ["deno-fra", "down"],
      ["cf-ams", "down"],
      ["deno-iad", "down"],
    ]);
    expect(coordinator.service("web").active).toBe("secondary");
    // The switch happens on the second "down" vote: 2 of 3 configured probes are a majority.
    const events = await coordinator.events({});
    expect(events.find((e) => e.type === "failover")?.votes?.primary).toEqual({ up: 0, down: 2, abstain: 1 });
  });

  it("refuses an answer signed with another secret: that probe stays silent, never down", async () => {
    const { web, coordinator, loop } = await mesh({ "cf-ams": "wrong-secret", "deno-iad": "wrong-secret" });
    web.primaryUp = false;
    await loop.round();
    const outcomes = await loop.round();
    const refused = outcomes.find((o) => o.probe === "cf-ams");
    expect(refused?.ok).toBe(false);
    expect(refused && !refused.ok ? refused.reason : "").toContain("401");
    expect(coordinator.probe("cf-ams")).toBeUndefined();
    expect(votesOf(coordinator)).toEqual([
      ["deno-fra", "down"],
      ["cf-ams", "abstain"],
      ["deno-iad", "abstain"],
    ]);
    expect(coordinator.verdicts("web").primary.verdict).toBe("unknown");
    expect(coordinator.service("web").active).toBe("primary");
  });

  it("names a refused connection and keeps that probe abstaining", async () => {
    const { coordinator, loop } = await mesh({ "deno-iad": "refused" });
    const outcomes = await loop.round();
    expect(outcomes.find((o) => o.probe === "deno-iad")).toMatchObject({
      ok: false,
      reason: 'Cannot pull from "https://deno-iad.probe.test/v1/run": Connection refused (ECONNREFUSED)',
    });
    expect(coordinator.probe("deno-iad")).toBeUndefined();
    expect(coordinator.probe("deno-fra")?.lastSeen).toBeTypeOf("number");
  });

  it("a member that does not answer times out, falls silent after 3 intervals and abstains", async () => {
    // Without fast confirmation: a first failure would ask the hung members at once, between rounds.
    const { clock, web, coordinator, loop, fetch } = await mesh(
      { "cf-ams": "hang", "deno-iad": "hang" },
      { confirmInterval: "0s" },
    );
    web.primaryUp = false;
    for (let round = 0; round < 4; round++) {
      const pending = loop.round();
      await vi.waitFor(() => expect(fetch.calls.length).toBe(3 * (round + 1)));
      await clock.advance(2000);
      const outcomes = await pending;
      expect(outcomes.filter((o) => !o.ok).map((o) => (o.ok ? "" : o.reason))).toEqual([
        'Cannot pull from "https://cf-ams.probe.test/v1/run": no answer within 2000 ms',
        'Cannot pull from "https://deno-iad.probe.test/v1/run": no answer within 2000 ms',
      ]);
    }
    await coordinator.evaluate();
    const events = await coordinator.events({});
    expect(events.filter((e) => e.type === "probe.silent").map((e) => e.message)).toEqual([
      expect.stringContaining('"cf-ams"'),
      expect.stringContaining('"deno-iad"'),
    ]);
    expect(votesOf(coordinator)).toEqual([
      ["deno-fra", "down"],
      ["cf-ams", "abstain"],
      ["deno-iad", "abstain"],
    ]);
    expect(coordinator.service("web").active).toBe("primary");
  });

  it("counts a probe whose canaries fail as abstaining, though its checks failed", async () => {
    const { web, coordinator, loop } = await mesh(
      { "cf-ams": "no-canary", "deno-iad": "no-canary" },
      { canaries: ["https://canary.test/"] },
    );
    web.primaryUp = false;
    await loop.round();
    await loop.round();
    expect(coordinator.probe("cf-ams")?.healthy).toBe(false);
    expect(coordinator.probe("deno-fra")?.healthy).toBe(true);
    expect(votesOf(coordinator)).toEqual([
      ["deno-fra", "down"],
      ["cf-ams", "abstain"],
      ["deno-iad", "abstain"],
    ]);
    expect(coordinator.service("web").active).toBe("primary");
  });

  it("skips a member whose previous pull is still in flight", async () => {
    const { clock, loop, fetch } = await mesh({ "cf-ams": "hang" });
    const slow = loop.round();
    await vi.waitFor(() => expect(fetch.calls.length).toBe(3));
    const quick = await loop.round();
    expect(quick.map((o) => o.probe)).toEqual(["deno-fra", "deno-iad"]);
    await clock.advance(2000);
    expect((await slow).map((o) => o.ok)).toEqual([true, false, true]);
  });

  it("start() pulls at once and then every interval until stop()", async () => {
    const { clock, loop, fetch } = await mesh({});
    loop.start();
    await vi.waitFor(() => expect(fetch.calls.length).toBe(3));
    await vi.waitFor(() => expect(loop.lastRoundMs).not.toBeNull());
    await clock.advance(1000);
    await vi.waitFor(() => expect(fetch.calls.length).toBe(6));
    loop.stop();
    await clock.advance(5000);
    expect(fetch.calls.length).toBe(6);
  });

  it("hands a verified answer to ingest with its signature untouched, and reports ingest's refusal", async () => {
    const { clock, coordinator, fetch, env } = await mesh({});
    const received: string[] = [];
    const ingest = async (request: Request) => {
      const body = await request.text();
      const check = await verifySignature(request.headers, body, {
        secretFor: (id) => env[secretEnv(id)],
        nowMs: clock.now(),
      });
      if (!check.ok)
        return Response.json({ error: { code: check.code, message: check.message } }, { status: 401 });
      received.push(check.probeId);
      if (check.probeId === "cf-ams") {
        return Response.json(
          { error: { code: "replayed", message: "Report already accepted" } },
          { status: 401 },
        );
      }
      await coordinator.acceptReport(reportSchema.parse(JSON.parse(body)));
      return Response.json({ accepted: true }, { status: 202 });
    };
    const loop = new PullLoop({
      coordinator,
      secretFor: (id) => env[secretEnv(id)],
      fetch,
      clock,
      log: silentLogger,
      ingest,
    });
    const outcomes = await loop.round();
    expect(received.sort()).toEqual(["cf-ams", "deno-fra", "deno-iad"]);
    expect(outcomes.map((o) => (o.ok ? "ok" : o.reason))).toEqual([
      "ok",
      'Refused the answer of "https://cf-ams.probe.test/v1/run": Report already accepted',
      "ok",
    ]);
    expect(coordinator.probe("cf-ams")).toBeUndefined();
  });
});
