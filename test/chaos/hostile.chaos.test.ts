/**
 * Chaos scenario 9, hand-made half: forged, replayed, truncated, oversized and type-confused requests on
 * every endpoint. Each gets a 4xx with the JSON error body and leaves the state untouched; a real
 * coordinator process survives broken HTTP on its socket.
 */
import { connect } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_BODY_BYTES } from "../../shared/protocol.ts";
import { signedHeaders } from "../../shared/signing.ts";
import { secretOf } from "../helpers.ts";
import { fuzzTarget, operator, request, signedPost, validReport } from "./fuzz-kit.ts";
import { meshEnv, meshYaml, type Status } from "./mesh.ts";
import { api, Cleanup, startCoordinator } from "./processes.ts";

const cleanup = new Cleanup();
afterAll(() => cleanup.run());

describe("chaos: hostile requests", () => {
  it("refuses forged, replayed, truncated, oversized and type-confused reports with 4xx and changes nothing", async () => {
    const target = await fuzzTarget();
    const now = target.mesh.clock.now();
    const body = JSON.stringify(validReport(now));
    const before = await target.fingerprint();
    const cases: [string, Request, number, string][] = [
      ["no signature", request("/v1/reports", { method: "POST", body }), 401, "missing_headers"],
      ["wrong secret", await signedPost(body, now, { secret: "guessed" }), 401, "bad_signature"],
      [
        "unknown probe",
        await signedPost(body, now, { probe: "intruder", secret: "x" }),
        401,
        "unknown_probe",
      ],
      ["signed by p2, names p1", await signedPost(body, now, { probe: "p2" }), 401, "probe_mismatch"],
      [
        "signature of another body",
        await signedPost(body, now, { signedBody: `${body} ` }),
        401,
        "bad_signature",
      ],
      ["timestamp in the future", await signedPost(body, now + 3_600_000), 401, "stale_timestamp"],
      ["timestamp in the past", await signedPost(body, now - 3_600_000), 401, "stale_timestamp"],
      [
        "truncated, signed whole",
        await signedPost(body.slice(0, 40), now, { signedBody: body }),
        401,
        "bad_signature",
      ],
      ["truncated, signed truncated", await signedPost(body.slice(0, 40), now), 400, "malformed_json"],
      ["oversized", await signedPost(`${body}${" ".repeat(MAX_BODY_BYTES)}`, now), 413, "too_large"],
    ];
    const confused: unknown[] = [
      null,
      [],
      "report",
      1e308,
      { ...validReport(now), id: 7 },
      { ...validReport(now), healthy: "true" },
      { ...validReport(now), results: {} },
      { ...validReport(now), results: [{ ...validReport(now).results[0], endpoint: "tertiary" }] },
      { ...validReport(now), results: [{ ...validReport(now).results[0], checkedAt: "yesterday" }] },
      { ...validReport(now), results: [{ ...validReport(now).results[0], status: -1 }] },
      { ...validReport(now), sentAt: { $date: 1 } },
      { ...validReport(now), extra: true },
      { ...validReport(now), id: "x".repeat(129) },
    ];
    const texts = confused.map((value) => JSON.stringify(value));
    texts.push(`{"__proto__":{"healthy":true},${body.slice(1)}`, `${body.slice(0, -1)},"healthy":"yes"}`);
    for (const text of texts)
      cases.push(["type-confused", await signedPost(text, now), 400, "invalid_report"]);
    for (const [what, req, status, code] of cases) {
      const answer = await target.call(req);
      expect(answer, what).toMatchObject({ status, body: { error: { code } } });
    }
    expect(await target.fingerprint()).toBe(before);

    const first = await target.call(await signedPost(body, now));
    expect(first.status).toBe(202);
    const afterFirst = await target.fingerprint();
    for (const skew of [0, 30_000]) {
      const replay = await target.call(await signedPost(body, now + skew));
      expect(replay).toMatchObject({ status: 401, body: { error: { code: "replayed" } } });
    }
    expect(await target.fingerprint()).toBe(afterFirst);
    console.log(`scenario 9: ${target.tried} hand-made report requests`);
  });

  it("refuses bad tokens, bad bodies and oversized bodies on every operator and probe route, changing nothing", async () => {
    const target = await fuzzTarget();
    const now = target.mesh.clock.now();
    const before = await target.fingerprint();
    const verbs = ["failover", "pause", "resume"];
    const badAuth = [
      {},
      { authorization: "Bearer wrong" },
      { authorization: "Bearer " },
      { authorization: "Basic dXNlcjpwdw==" },
    ];
    const reads = ["/v1/status", "/v1/events", "/ui/state"]; // /metrics is public unless coordinator.protectMetrics
    for (const headers of badAuth) {
      for (const path of reads) expect((await target.call(request(path, { headers }))).status).toBe(401);
      for (const verb of verbs) {
        const req = request(`/v1/services/web/${verb}`, {
          method: "POST",
          headers,
          body: '{"to":"secondary"}',
        });
        expect((await target.call(req)).status).toBe(401);
      }
    }
    const bodies = [
      "",
      "{",
      "null",
      "[]",
      '"secondary"',
      '{"to":"tertiary"}',
      '{"to":1}',
      '{"to":"secondary","extra":1}',
      '{"reason":7}',
      '{"actor":""}',
    ];
    for (const verb of verbs) {
      for (const body of bodies) {
        if (verb !== "failover" && body === "") continue; // pause and resume take an optional body
        const answer = await target.call(
          request(`/v1/services/web/${verb}`, { method: "POST", headers: operator, body }),
        );
        expect(answer.status, `${verb} ${body}`).toBe(400);
      }
      const huge = JSON.stringify({ to: "secondary", reason: "x".repeat(70 * 1024) });
      expect(
        (
          await target.call(
            request(`/v1/services/web/${verb}`, { method: "POST", headers: operator, body: huge }),
          )
        ).status,
      ).toBe(413);
      const valid = verb === "failover" ? '{"to":"secondary"}' : "{}";
      const unknown = await target.call(
        request(`/v1/services/nope/${verb}`, { method: "POST", headers: operator, body: valid }),
      );
      expect(unknown.status).toBe(404);
    }
    for (const query of ["since=yesterday", "limit=-1", "limit=abc", "since=2026-13-45T99:00:00Z"]) {
      expect((await target.call(request(`/v1/events?${query}`, { headers: operator }))).status).toBe(400);
    }
    const assignments = (id: string, signer: string, secret = secretOf(signer)) =>
      signedHeaders(signer, secret, "", now).then((headers) =>
        request(`/v1/probes/${id}/assignments`, { headers }),
      );
    expect((await target.call(request("/v1/probes/p1/assignments"))).status).toBe(401);
    expect((await target.call(await assignments("p2", "p1"))).status).toBe(401);
    expect((await target.call(await assignments("p1", "p1", "guessed"))).status).toBe(401);
    expect((await target.call(await assignments("..%2F..%2Fetc", "p1"))).status).toBe(401);
    expect((await target.call(request("/v1/nothing-here", { method: "DELETE" }))).status).toBe(404);
    expect(await target.fingerprint()).toBe(before);
    console.log(`scenario 9: ${target.tried} hand-made operator and probe-route requests`);
  });

  it("a coordinator process survives broken HTTP on its socket and keeps its state", async () => {
    const probes = ["p1", "p2", "p3"];
    const yaml = meshYaml({
      probes,
      primaryUrl: "http://127.0.0.1:9/x",
      secondaryUrl: "http://127.0.0.1:9/y",
    });
    const coordinator = await startCoordinator(yaml, meshEnv(probes), cleanup);
    const before = await api<Status>(coordinator.base, "/v1/status");
    const { port } = new URL(coordinator.base);
    const raw = [
      'POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nContent-Type: application/json\r\n\r\n{"id":',
      'POST /v1/reports HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffff\r\n{"id"',
      "GARBAGE\r\n\r\n\u0000\u0001\u0002",
      `GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`,
      'POST /v1/services/web/failover HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n{"to":"seco',
    ];
    for (const text of raw) {
      await new Promise<void>((resolve) => {
        const socket = connect(Number(port), "127.0.0.1", () => {
          socket.write(text);
          setTimeout(() => socket.destroy(), 100);
        });
        socket.on("error", () => resolve());
        socket.on("close", () => resolve());
      });
    }
    const health = await fetch(`${coordinator.base}/healthz`);
    expect(health.status).toBe(200);
    const after = await api<Status>(coordinator.base, "/v1/status");
    expect(after?.services).toEqual(before?.services);
    expect(coordinator.child.exitCode).toBeNull();
  });
});
