/**
 * Chaos scenarios 4–6 (a real coordinator process against the Cloudflare and deSEC stand-ins):
 * SIGKILL between the two providers' writes, a Cloudflare API outage during a failover, and deSEC
 * throttling with Retry-After.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startSink } from "../../demo/origins.ts";
import {
  type Events,
  type MeshOptions,
  meshEnv,
  meshYaml,
  PRIMARY,
  SECONDARY,
  type Status,
  startStandins,
  startVoters,
} from "./mesh.ts";
import { api, Cleanup, sleep, startCoordinator, until } from "./processes.ts";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

const probes = ["p1", "p2", "p3"];
type WebhookBody = { data?: { events?: { id: number }[] } };
const UNUSED = "http://127.0.0.1:9/never-checked"; // the test plays the probes: no check URL is fetched

/** The mesh of these scenarios: the test plays three probes, both stand-ins serve DNS, one failed check votes. */
function standinMeshYaml(
  dns: Awaited<ReturnType<typeof startStandins>>,
  extra: Partial<MeshOptions>,
): string {
  return meshYaml({
    probes,
    primaryUrl: UNUSED,
    secondaryUrl: UNUSED,
    failAfter: 1,
    cloudflare: dns.cf.apiBase,
    desec: dns.desec.apiBase,
    ...extra,
  });
}
const events = async (base: string) => (await api<Events>(base, "/v1/events"))?.events ?? [];
const dnsOf = async (base: string) => (await api<Status>(base, "/v1/status"))?.services[0]?.dns;

/**
 * The audit log of a failover interrupted by SIGKILL after Cloudflare's write: one failover, then
 * Cloudflare's switch, then the restart naming unfinished work, then deSEC's switch; ids in order.
 */
function expectCoherentLog(log: Events["events"]): void {
  // The routers' creation at the first start is a dns.switched to the primary: name the switches to the secondary.
  const types = log.map((e) =>
    e.type === "dns.switched" && e.message.includes(SECONDARY)
      ? `dns.switched:${e.provider}:secondary`
      : e.type,
  );
  const starts = log.filter((e) => e.type === "coordinator.started");
  expect(types.filter((t) => t === "failover")).toHaveLength(1);
  expect(types).not.toContain("failback");
  expect(starts).toHaveLength(2);
  expect(starts[1]?.message).toMatch(/unfinished DNS work/);
  expect(types.filter((t) => t === "dns.switched:cloudflare:secondary")).toHaveLength(1);
  expect(types.filter((t) => t === "dns.switched:desec:secondary")).toHaveLength(1);
  const order = [
    "failover",
    "dns.switched:cloudflare:secondary",
    "restart",
    "dns.switched:desec:secondary",
  ].map((t) => (t === "restart" ? types.lastIndexOf("coordinator.started") : types.indexOf(t)));
  expect(order.every((index) => index >= 0)).toBe(true);
  expect(order).toEqual([...order].sort((a, b) => a - b));
  expect(log.map((e) => e.id)).toEqual([...log.map((e) => e.id)].sort((a, b) => a - b));
}

describe("chaos: DNS providers failing during a failover", () => {
  it("SIGKILL between the first and the second provider's write: both converge after restart, the log is coherent, no alert is lost", async () => {
    const dns = await startStandins(cleanup);
    const sink = await startSink();
    cleanup.add(() => sink.close());
    const yaml = standinMeshYaml(dns, {
      providerTimeout: "20s",
      alertGroupWait: "3s",
    });
    const env = { ...meshEnv(probes), ALERT_URL: `${sink.url}/hook` };
    const first = await startCoordinator(yaml, env, cleanup);
    await until("both providers serving the primary", () =>
      dns.cfTarget() === PRIMARY && dns.desecTarget() === PRIMARY ? true : undefined,
    );
    dns.desec.standin.fault = { hang: true }; // deSEC now holds every request: its write cannot land
    startVoters(first.base, probes, { intervalMs: 500, primaryOk: () => false, cleanup });

    const switchedOnCloudflare = await until("Cloudflare's switch in the audit log", async () =>
      (await events(first.base)).find(
        (e) => e.type === "dns.switched" && e.provider === "cloudflare" && e.message.includes(SECONDARY),
      ),
    );
    await first.kill("SIGKILL");
    expect(dns.cfTarget()).toBe(SECONDARY);
    expect(dns.desecTarget()).toBe(PRIMARY); // the kill landed between the two providers' writes
    const alertedBeforeKill = sink.received.length;

    dns.desec.standin.fault = null;
    dns.desec.standin.hangs.release();
    const second = await first.restart();
    await until(
      "deSEC switched after the restart",
      () => (dns.desecTarget() === SECONDARY ? true : undefined),
      {
        context: second.output,
      },
    );
    const synced = await until("both providers in sync", async () => {
      const state = await dnsOf(second.base);
      return state?.cloudflare?.state === "in-sync" && state.desec?.state === "in-sync" ? state : undefined;
    });
    expect(synced.cloudflare?.target).toBe(SECONDARY);
    expect(synced.desec?.target).toBe(SECONDARY);

    const log = await events(second.base);
    expectCoherentLog(log);

    const failover = log.find((e) => e.type === "failover");
    const carries = (body: unknown, id: number | undefined) =>
      ((body as WebhookBody).data?.events ?? []).some((e) => e.id === id); // the webhook's documented body
    const alerted = await until(
      "the failover alert delivered",
      () => (sink.received.some((r) => carries(r.body, failover?.id)) ? sink.received : undefined),
      { context: () => `${second.output()}\nreceived: ${JSON.stringify(sink.received.map((r) => r.body))}` },
    );
    expect(alerted.filter((r) => carries(r.body, failover?.id))).toHaveLength(1);
    console.log(
      `scenario 4: Cloudflare switched at event ${switchedOnCloudflare.id}; ${alertedBeforeKill} alert(s) before the kill, ${alerted.length} after the restart`,
    );
  });

  it("Cloudflare answering 5xx, then refusing connections: deSEC switches at once, Cloudflare converges when it returns", async () => {
    const dns = await startStandins(cleanup);
    const yaml = standinMeshYaml(dns, {});
    const coordinator = await startCoordinator(yaml, meshEnv(probes), cleanup);
    await until("both providers serving the primary", () =>
      dns.cfTarget() === PRIMARY && dns.desecTarget() === PRIMARY ? true : undefined,
    );
    dns.cf.standin.fault = { status: 503 };
    startVoters(coordinator.base, probes, { intervalMs: 500, primaryOk: () => false, cleanup });

    await until("deSEC switched during the Cloudflare outage", () =>
      dns.desecTarget() === SECONDARY ? true : undefined,
    );
    const during5xx = await until("Cloudflare's 5xx in the status", async () => {
      const state = await dnsOf(coordinator.base);
      return state?.cloudflare?.state === "error" ? state.cloudflare : undefined;
    });
    expect(during5xx.error).toMatch(/503/);
    const log = await events(coordinator.base);
    const decided = Date.parse(log.find((e) => e.type === "failover")?.at ?? "");
    const desecSwitched = Date.parse(
      log.find((e) => e.type === "dns.switched" && e.provider === "desec")?.at ?? "",
    );
    expect(desecSwitched - decided).toBeLessThan(1000); // CONTRACT §4a: a healthy provider's write starts within 1 s

    await dns.cf.down();
    const refused = await until("the refused connection in the status", async () => {
      const state = await dnsOf(coordinator.base);
      return state?.cloudflare?.error?.includes("ECONNREFUSED") ? state.cloudflare : undefined;
    });
    expect(refused.state).toBe("error");
    expect(dns.cfTarget()).toBe(PRIMARY);
    expect(dns.desecTarget()).toBe(SECONDARY);

    dns.cf.standin.fault = null;
    await dns.cf.up();
    await until("Cloudflare converged", () => (dns.cfTarget() === SECONDARY ? true : undefined), {
      timeoutMs: 10_000,
    });
    const state = await until("both in sync", async () => {
      const s = await dnsOf(coordinator.base);
      return s?.cloudflare?.state === "in-sync" && s.desec?.state === "in-sync" ? s : undefined;
    });
    expect(state.cloudflare?.target).toBe(SECONDARY);
    expect((await events(coordinator.base)).filter((e) => e.type === "failover")).toHaveLength(1);
  });

  it("deSEC throttling with Retry-After: healthmesh waits it out without a request, and the status says why", async () => {
    const windowMs = 5000;
    // One RRset write per 5 s: the router's creation at start uses it, so the failover's write is throttled.
    const dns = await startStandins(cleanup, {
      desecLimits: { write: [{ limit: 1, windowMs }], read: [{ limit: 1000, windowMs: 1000 }] },
    });
    const yaml = standinMeshYaml(dns, {
      maxBackoff: "500ms",
    });
    const coordinator = await startCoordinator(yaml, meshEnv(probes), cleanup);
    await until("both providers serving the primary", () =>
      dns.cfTarget() === PRIMARY && dns.desecTarget() === PRIMARY ? true : undefined,
    );
    const seen: { at: number; total: number }[] = [];
    const sampler = setInterval(() => {
      const total = dns.desec.standin.requests.total();
      if (seen.at(-1)?.total !== total) seen.push({ at: Date.now(), total });
    }, 20);
    cleanup.add(() => clearInterval(sampler));
    startVoters(coordinator.base, probes, { intervalMs: 500, primaryOk: () => false, cleanup });

    const throttled = await until("the throttle in the status", async () => {
      const state = await dnsOf(coordinator.base);
      return state?.desec?.state === "error"
        ? { at: Date.now(), desec: state.desec, cloudflare: state.cloudflare }
        : undefined;
    });
    expect(throttled.desec.error).toMatch(/429/);
    expect(throttled.desec.error).toMatch(/Retry-After/);
    const retryAfterS = Number(/retrying in (\d+) s/.exec(throttled.desec.error ?? "")?.[1]);
    expect(retryAfterS).toBeGreaterThan(0);
    expect(dns.cfTarget()).toBe(SECONDARY); // the throttle on deSEC never delays Cloudflare
    const atThrottle = dns.desec.standin.requests.total();

    await until(
      "deSEC switched once the throttle lifted",
      () => (dns.desecTarget() === SECONDARY ? true : undefined),
      {
        timeoutMs: windowMs + 5000,
      },
    );
    const afterSwitch = dns.desec.standin.requests.total();
    await sleep(300);
    clearInterval(sampler);
    const quiet = seen.filter(
      (s) => s.at > throttled.at + 100 && s.at < throttled.at + retryAfterS * 1000 - 1100,
    );
    console.log(
      `scenario 6: throttled for ${retryAfterS} s; ${afterSwitch - atThrottle} deSEC request(s) from the 429 to the switch, ${quiet.length} inside the wait`,
    );
    expect(quiet).toEqual([]); // no request while Retry-After runs
    expect(afterSwitch - atThrottle).toBeLessThanOrEqual(3); // then read, write, verify: no hammering
    expect(
      dns.desec.standin.requests.get("PUT") + dns.desec.standin.requests.get("PATCH"),
    ).toBeLessThanOrEqual(3);
  });
});
