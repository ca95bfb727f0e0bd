/**
 * Chaos scenario 9, property-based half (fast-check): random and mutated bodies, headers, queries and
 * paths against every endpoint, and random and mutated configs against parseConfig. Only 4xx (or a
 * read's 200), always the JSON error body, never a crash, never a state change.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { actionBodySchema, failoverBodySchema } from "../../shared/api-schema.ts";
import { parseConfig } from "../../shared/config.ts";
import { reportSchema } from "../../shared/protocol.ts";
import { fuzzTarget, operator, READ_TOKEN, request, signedPost, validReport } from "./fuzz-kit.ts";

/** Runs per API property; with the config properties below, over 10,000 inputs per run (asserted at the end). */
const RUNS = 600;
const MIN_INPUTS = 10_000;
let inputs = 0;
afterAll(() => {
  console.log(`scenario 9: ${inputs} fuzzed inputs in this run`);
  expect(inputs).toBeGreaterThanOrEqual(MIN_INPUTS);
});
const header = fc.stringMatching(/^[\x21-\x7e]{0,48}$/);

/** Replaces (or deletes) the value at a random path of a JSON-like tree. */
function mutate(root: unknown, pick: number, value: unknown, remove: boolean): unknown {
  const paths: (string | number)[][] = [];
  const walk = (node: unknown, path: (string | number)[]) => {
    paths.push(path);
    if (Array.isArray(node)) {
      for (const [i, child] of node.entries()) walk(child, [...path, i]);
    } else if (node && typeof node === "object")
      for (const [k, child] of Object.entries(node)) walk(child, [...path, k]);
  };
  walk(root, []);
  const path = paths[pick % paths.length] ?? [];
  if (path.length === 0) return value;
  const copy = structuredClone(root);
  let parent = copy as Record<string | number, unknown>; // walked from `root`, so every step is an object or array
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path[path.length - 1] ?? "";
  if (remove) delete parent[last];
  else parent[last] = value;
  return copy;
}

describe("chaos: property-based fuzzing", () => {
  it("answers random and mutated API input with 4xx only, and changes nothing", async () => {
    const target = await fuzzTarget();
    const now = target.mesh.clock.now();
    const before = await target.fingerprint();
    const refusedWith = (status: number) => (answer: { status: number }) =>
      expect(answer.status).toBe(status);

    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        fc.pre(!reportSchema.safeParse(value).success);
        refusedWith(400)(await target.call(await signedPost(JSON.stringify(value), now)));
      }),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary", maxLength: 400 }), async (text) => {
        refusedWith(400)(await target.call(await signedPost(text, now)));
      }),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.jsonValue(), fc.boolean(), async (pick, value, remove) => {
        const mutated = mutate(validReport(now), pick, value, remove);
        fc.pre(!reportSchema.safeParse(mutated).success);
        refusedWith(400)(await target.call(await signedPost(JSON.stringify(mutated), now)));
      }),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(header, header, header, async (probe, timestamp, signature) => {
        const headers = {
          "x-healthmesh-probe": probe,
          "x-healthmesh-timestamp": timestamp,
          "x-healthmesh-signature": signature,
        };
        const body = JSON.stringify(validReport(now));
        refusedWith(401)(await target.call(request("/v1/reports", { method: "POST", body, headers })));
        refusedWith(401)(await target.call(request(`/v1/probes/p1/assignments`, { headers })));
      }),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("failover", "pause", "resume"),
        fc.jsonValue(),
        async (verb, value) => {
          const schema = verb === "failover" ? failoverBodySchema : actionBodySchema;
          fc.pre(!schema.safeParse(value).success);
          const req = request(`/v1/services/web/${verb}`, {
            method: "POST",
            headers: operator,
            body: JSON.stringify(value),
          });
          refusedWith(400)(await target.call(req));
        },
      ),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(header, header, async (since, limit) => {
        const query = new URLSearchParams({ since, limit });
        const answer = await target.call(request(`/v1/events?${query}`, { headers: operator }));
        expect([200, 400]).toContain(answer.status);
      }),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "PUT", "PATCH", "DELETE", "OPTIONS"),
        fc.webPath(),
        async (method, path) => {
          const answer = await target.call(
            request(path.startsWith("/") ? path : `/${path}`, { method, headers: operator }),
          );
          expect(answer.status).toBeLessThan(500);
        },
      ),
      { numRuns: RUNS },
    );
    const query = fc.record(
      { service: header, unhealthy: header, offset: header, limit: header, since: header },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(query, fc.constantFrom("/v1/status", "/ui/state"), async (params, path) => {
        const answer = await target.call(
          request(`${path}?${new URLSearchParams(params)}`, { headers: operator }),
        );
        expect([200, 400, 404]).toContain(answer.status);
      }),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(
        header,
        fc.constantFrom("/v1/status", "/v1/events", "/ui/state", "/v1/services/web/pause"),
        async (token, path) => {
          fc.pre(token.trim() !== "" && token.trim() !== READ_TOKEN);
          const method = path.endsWith("pause") ? "POST" : "GET";
          const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
          refusedWith(401)(
            await target.call(request(path, { method, headers, body: method === "POST" ? "{}" : null })),
          );
        },
      ),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("failover", "pause", "resume"),
        fc.jsonValue(),
        async (verb, value) => {
          const headers = { authorization: `Bearer ${READ_TOKEN}`, "content-type": "application/json" };
          const req = request(`/v1/services/web/${verb}`, {
            method: "POST",
            headers,
            body: JSON.stringify(value),
          });
          refusedWith(403)(await target.call(req));
        },
      ),
      { numRuns: RUNS },
    );
    expect(await target.fingerprint()).toBe(before);
    inputs += target.tried;
    console.log(
      `scenario 9: ${target.tried} fuzzed API requests, all refused with 4xx (or a read's 200), state unchanged`,
    );
  });

  it("parseConfig never throws on random text, random YAML and mutated contract configs, and names a path for every problem", () => {
    const example = parse(
      readFileSync(new URL("../fixtures/contract-example.yaml", import.meta.url), "utf8"),
    ) as unknown;
    let tried = 0;
    /** Parses once and checks every problem names a path; returns whether the config was valid. */
    const check = (text: string): boolean => {
      tried++;
      const result = parseConfig(text);
      if (!result.ok) {
        expect(result.issues.length).toBeGreaterThan(0);
        for (const issue of result.issues) {
          expect(issue.path).toEqual(expect.any(String));
          expect(issue.message.length).toBeGreaterThan(0);
        }
      }
      return result.ok;
    };
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 500 }), (text) => void check(text)),
      { numRuns: 1500 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), (value) => void check(stringify(value))),
      { numRuns: 600 },
    );
    let rejected = 0;
    fc.assert(
      fc.property(fc.nat(), fc.jsonValue(), fc.boolean(), (pick, value, remove) => {
        if (!check(stringify(mutate(example, pick, value, remove)))) rejected++;
      }),
      { numRuns: 1600 },
    );
    expect(parseConfig(stringify(example)).ok).toBe(true);
    expect(rejected).toBeGreaterThan(0);
    inputs += tried;
    console.log(
      `scenario 9: ${tried} configs parsed (${rejected} mutated contract configs rejected with YAML paths)`,
    );
  });
});
