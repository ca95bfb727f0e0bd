import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signedHeaders, signPayload, verifySignature } from "../../shared/signing.ts";

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const secretFor = (id: string) => (id === "p1" ? "s3cret" : undefined);
const headersOf = (h: Record<string, string>) => new Headers(h);

describe("probe request signing", () => {
  it("matches an independent HMAC-SHA256 over timestamp.body", async () => {
    const expected = createHmac("sha256", "s3cret").update('1700000000.{"a":1}').digest("hex");
    expect(await signPayload("s3cret", 1700000000, '{"a":1}')).toBe(`v1=${expected}`);
  });

  it("verifies its own signature", async () => {
    const h = await signedHeaders("p1", "s3cret", "body", NOW);
    expect(await verifySignature(headersOf(h), "body", { secretFor, nowMs: NOW })).toMatchObject({
      ok: true,
      probeId: "p1",
    });
  });

  it.each([
    { why: "a changed body", mutate: (h: Record<string, string>) => h, body: "bodx", code: "bad_signature" },
    {
      why: "an unknown probe",
      mutate: (h: Record<string, string>) => ({ ...h, "x-healthmesh-probe": "p9" }),
      body: "body",
      code: "unknown_probe",
    },
    {
      why: "a missing signature",
      mutate: ({ "x-healthmesh-signature": _, ...h }: Record<string, string>) => h,
      body: "body",
      code: "missing_headers",
    },
    {
      why: "a non-numeric timestamp",
      mutate: (h: Record<string, string>) => ({ ...h, "x-healthmesh-timestamp": "soon" }),
      body: "body",
      code: "stale_timestamp",
    },
  ])("refuses $why", async ({ mutate, body, code }) => {
    const h = mutate(await signedHeaders("p1", "s3cret", "body", NOW));
    expect(await verifySignature(headersOf(h), body, { secretFor, nowMs: NOW })).toMatchObject({
      ok: false,
      code,
    });
  });

  it("accepts the signature's hex in upper case too", async () => {
    const h = await signedHeaders("p1", "s3cret", "body", NOW);
    const upper = {
      ...h,
      "x-healthmesh-signature": `v1=${(h["x-healthmesh-signature"] ?? "").slice(3).toUpperCase()}`,
    };
    expect((await verifySignature(headersOf(upper), "body", { secretFor, nowMs: NOW })).ok).toBe(true);
  });

  it("accepts 60 s of skew either way and refuses 61", async () => {
    for (const [offset, ok] of [
      [60_000, true],
      [-60_000, true],
      [61_000, false],
      [-61_000, false],
    ] as const) {
      const h = await signedHeaders("p1", "s3cret", "b", NOW + offset);
      expect((await verifySignature(headersOf(h), "b", { secretFor, nowMs: NOW })).ok).toBe(ok);
    }
  });
});

describe("stale-timestamp refusals name the right clocks", () => {
  it("tells a probe answering a pull to check the coordinator's clock", async () => {
    const h = await signedHeaders("p1", "s3cret", "b", NOW - 300_000);
    const check = await verifySignature(headersOf(h), "b", { secretFor, nowMs: NOW, verifier: "probe" });
    expect(check.ok ? "" : check.message).toMatch(/from the probe's clock .*check the coordinator's clock/);
  });
});
