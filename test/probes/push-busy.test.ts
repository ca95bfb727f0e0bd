/**
 * The push probe and a busy coordinator: a loopback server in front of a coordinator app answers
 * `429` with `Retry-After`; the probe (on a ManualClock) sends nothing to it before that time, then
 * the same report, signed anew, which the coordinator accepts.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { PushProbe } from "../../probes/push.ts";
import { ManualClock } from "../../shared/clock.ts";
import { silentLogger } from "../../shared/log.ts";
import { secretOf, testCoordinator } from "../helpers.ts";
import { settle, trackWebCrypto } from "./settle.ts";

const stops: (() => unknown)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** A clock that notes every timer's delay, to know when the probe has started a wait. */
class NotingClock extends ManualClock {
  delays: number[] = [];
  override setTimer(fn: () => void, ms: number): () => void {
    this.delays.push(ms);
    return super.setTimer(fn, ms);
  }
}

type Post = { at: number; body: string; timestamp: string | null; status: number };

/** A loopback server: the first `busy` report posts get 429 with `Retry-After: retryAfter`, the rest go to the app. */
async function busyCoordinator(options: { busy: number; retryAfter: string }) {
  const clock = new NotingClock();
  const mesh = await testCoordinator({ clock });
  stops.push(() => mesh.coordinator.stop());
  const posts: Post[] = [];
  let busy = options.busy;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers))
        if (typeof value === "string") headers.set(name, value);
      let answer: Response;
      if (req.method === "POST" && busy > 0) {
        busy--;
        answer = Response.json(
          { error: { code: "busy", message: "Cannot accept the report now" } },
          { status: 429, headers: { "retry-after": options.retryAfter } },
        );
      } else {
        answer = await mesh.app.request(`http://coordinator${req.url}`, {
          method: req.method ?? "GET",
          headers,
          ...(req.method === "POST" ? { body } : {}),
        });
      }
      if (req.method === "POST")
        posts.push({
          at: clock.now(),
          body,
          timestamp: headers.get("x-healthmesh-timestamp"),
          status: answer.status,
        });
      res.writeHead(answer.status, Object.fromEntries(answer.headers));
      res.end(await answer.text());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  stops.push(() => new Promise((resolve) => server.close(resolve)));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`; // a TCP server's address
  // The probe's checks answer here; everything for the coordinator goes over loopback.
  const world: typeof fetch = (input, init) => {
    const url = new Request(input, init).url;
    return url.startsWith(base) ? fetch(input, init) : Promise.resolve(new Response("ok"));
  };
  const probe = new PushProbe({
    id: "p1",
    secret: secretOf("p1"),
    coordinators: [base],
    fetch: world,
    clock,
    log: silentLogger,
    confirm: false,
  });
  stops.push(() => probe.stop());
  return { clock, mesh, posts, probe };
}

async function until(what: string, test: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !test(); i++) await new Promise((resolve) => setTimeout(resolve, 10)); // real I/O on loopback
  if (!test()) throw new Error(`Timed out waiting for ${what}`);
}

describe("a push probe and a busy coordinator", () => {
  it("waits out Retry-After, then sends the same report signed anew, and it is accepted", async () => {
    trackWebCrypto();
    const { clock, mesh, posts, probe } = await busyCoordinator({ busy: 1, retryAfter: "2" });
    const t0 = clock.now();
    const round = probe.round();
    await until("the probe to wait out the 429", () => clock.delays.includes(2_000));

    await clock.advance(1_999);
    await settle();
    expect(posts).toHaveLength(1);
    await clock.advance(1);
    await round;

    expect(posts.map((p) => p.status)).toEqual([429, 202]);
    expect(posts[1]?.at).toBe(t0 + 2_000);
    expect(posts[1]?.body).toBe(posts[0]?.body);
    expect(posts[1]?.timestamp).toBe(String((t0 + 2_000) / 1000));
    const id = (JSON.parse(posts[1]?.body ?? "{}") as { id?: string }).id ?? "";
    expect(await mesh.coordinator.reportSeen("p1", id)).toBe(true);
    expect(mesh.coordinator.probe("p1")?.lastSeen).toBe(t0 + 2_000);
  });

  it("drops a round's report when Retry-After is longer than it waits, and sends the next round's only after it", async () => {
    trackWebCrypto();
    const { clock, posts, probe } = await busyCoordinator({ busy: 1, retryAfter: "120" });
    await probe.round(); // does not wait two minutes
    expect(posts.map((p) => p.status)).toEqual([429]);

    await clock.advance(60_000);
    await probe.round();
    expect(posts).toHaveLength(1); // still within Retry-After: nothing sent

    await clock.advance(60_000);
    await probe.round();
    expect(posts.map((p) => p.status)).toEqual([429, 202]);
  });
});
