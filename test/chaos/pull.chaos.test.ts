/**
 * Chaos with a pull-mode edge (a real coordinator process pulling a loopback pull probe, beside two
 * push-probe processes): the pull edge becoming unreachable makes it silent, never "down"; the two
 * push probes still carry a failover by majority of the three configured probes.
 */
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { serveLoopback, startOrigin } from "../../demo/origins.ts";
import { createPullProbe } from "../../probes/pull.ts";
import { systemClock } from "../../shared/clock.ts";
import { silentLogger } from "../../shared/log.ts";
import { type Events, meshEnv, meshYaml, type Status, secretOf } from "./mesh.ts";
import { api, Cleanup, sleep, startCoordinator, startProbe, until } from "./processes.ts";

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

describe("chaos: a pull-mode edge", () => {
  it("an unreachable pull edge goes silent, never down, and the push majority still fails over", async () => {
    const primary = await startOrigin("cf-front");
    const secondary = await startOrigin("cdn2-front");
    cleanup.add(() => Promise.all([primary.close(), secondary.close()]));
    const probe = createPullProbe({
      id: "p3",
      secret: secretOf("p3"),
      coordinators: [],
      fetch,
      clock: systemClock(),
      log: silentLogger,
    });
    const edge = new Hono();
    edge.all("*", (c) => probe.handle(c.req.raw));
    const served = await serveLoopback(edge);
    let edgeUp = true;
    cleanup.add(() => (edgeUp ? served.close() : undefined));

    const probes = ["p1", "p2", "p3"];
    const yaml = meshYaml({
      probes,
      pull: { p3: served.url },
      primaryUrl: primary.url,
      secondaryUrl: secondary.url,
      interval: "500ms",
      failAfter: 2,
    });
    const coordinator = await startCoordinator(yaml, meshEnv(probes), cleanup);
    for (const id of ["p1", "p2"]) startProbe(id, secretOf(id), coordinator.base, cleanup);
    const status = () => api<Status>(coordinator.base, "/v1/status");
    await until("all three probes voting the primary up", async () =>
      (await status())?.services[0]?.primary.votes.up === 3 ? true : undefined,
    );

    await served.close(); // the pull edge's network is gone: every pull is refused
    edgeUp = false;
    await until("the pull edge marked silent", async () =>
      (await status())?.probes.find((p) => p.id === "p3")?.silent ? true : undefined,
    );
    await sleep(4 * 500);
    const lost = (await status())?.services[0];
    expect(lost).toMatchObject({
      active: "primary",
      primary: { verdict: "up", votes: { up: 2, down: 0, abstain: 1 } },
    });

    primary.up = false;
    const failover = await until("the failover by the two push probes", async () =>
      (await api<Events>(coordinator.base, "/v1/events"))?.events.find((e) => e.type === "failover"),
    );
    expect(failover.message).toMatch(/primary down \(2 down, 0 up, 1 abstain\)/);
    expect((await status())?.services[0]?.active).toBe("secondary");
  });
});
