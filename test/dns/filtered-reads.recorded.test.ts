/**
 * The filtered reads against what the real APIs answered (test/fixtures/real-apis/recorded.json, from
 * dns-lexicon's recordings): the clients ask in the recorded form and read the recorded bodies, and the
 * stand-ins answer the same queries with the same status, shape and paging — so neither side passes
 * only because it agrees with the other.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { CloudflareDnsProvider } from "../../coordinator/dns/cloudflare.ts";
import { DesecDnsProvider } from "../../coordinator/dns/desec.ts";
import { startCloudflareStandin } from "../../standins/cloudflare.ts";
import { startDesecStandin } from "../../standins/desec.ts";

interface Recorded {
  status: number;
  path?: string;
  query?: string;
  body: string;
}
const recorded = JSON.parse(
  readFileSync(new URL("../fixtures/real-apis/recorded.json", import.meta.url), "utf8"),
) as Record<string, Recorded>;
const rec = (key: string): Recorded => {
  const r = recorded[key];
  if (!r) throw new Error(`no recorded answer "${key}"`);
  return r;
};

/** Answers a GET only when its path and every query parameter but `type` match the recording's. */
function replay(answers: Recorded[]) {
  const calls: URL[] = [];
  const fetchStub: typeof fetch = async (input) => {
    const url = new URL(String(input));
    calls.push(url);
    const answer = answers.find((a) => {
      const want = new URLSearchParams(a.query ?? "");
      want.delete("type"); // the recordings filtered on TXT; a router read asks for every type at the name
      const got = new URLSearchParams(url.search);
      const samePath = url.pathname.replace(/\/+$/, "/") === (a.path ?? "").replace(/\/+$/, "/");
      return (
        samePath &&
        [...want].every(([k, v]) => got.get(k) === v) &&
        [...got.keys()].length === [...want.keys()].length
      );
    });
    if (!answer) return new Response('{"detail":"Not recorded."}', { status: 599 });
    return new Response(answer.body, {
      status: answer.status,
      headers: { "content-type": "application/json" },
    });
  };
  return { fetch: fetchStub, calls };
}

describe("the clients' filtered reads against the recorded answers", () => {
  it("deSEC: one GET …/rrsets/?subname= per router, the recorded list read, the recorded [] read as nothing there", async () => {
    const r = replay([rec("desecRrsetsBySubname"), rec("desecRrsetsBySubnameEmpty")]);
    const client = () =>
      new DesecDnsProvider({
        fetch: r.fetch,
        apiBase: "https://desec.io/api/v1",
        token: "t",
        domain: "desec.lexicon",
      });
    const found = await client().readRouters(["random.test.desec.lexicon"]);
    expect(found.get("random.test.desec.lexicon")).toMatchObject({ type: "TXT", ttl: 3600 });
    const none = await client().readRouters(["filter.thisdoesnotexist.desec.lexicon"]);
    expect(none.get("filter.thisdoesnotexist.desec.lexicon")).toBeNull();
    expect(r.calls.map((u) => `${u.pathname}${u.search}`)).toEqual([
      "/api/v1/domains/desec.lexicon/rrsets/?subname=random.test",
      "/api/v1/domains/desec.lexicon/rrsets/?subname=filter.thisdoesnotexist",
    ]);
  });

  it("Cloudflare: one GET …/dns_records?name=<full name> per router, the recorded empty result_info ends the paging", async () => {
    const r = replay([rec("cloudflareRecordsByName"), rec("cloudflareRecordsByNameEmpty")]);
    const client = () =>
      new CloudflareDnsProvider({
        fetch: r.fetch,
        apiBase: "https://api.cloudflare.com/client/v4",
        token: "t",
        zone: "byemike.org",
        zoneId: "457dd20dded351b97830cb528f507819",
      });
    const found = await client().readRouters(["random.test.byemike.org"]);
    expect(found.get("random.test.byemike.org")).toMatchObject({
      type: "TXT",
      target: "challengetoken",
      ttl: 3600,
    });
    const none = await client().readRouters(["filter.thisdoesnotexist.byemike.org"]);
    expect(none.get("filter.thisdoesnotexist.byemike.org")).toBeNull();
    expect(r.calls).toHaveLength(2);
    expect(r.calls.map((u) => u.searchParams.get("name"))).toEqual([
      "random.test.byemike.org",
      "filter.thisdoesnotexist.byemike.org",
    ]);
  });
});

describe("the stand-ins answer the recorded filtered queries like the real APIs", () => {
  const close: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of close.splice(0)) await c();
  });

  it("deSEC: 200 with the RRset's recorded fields, 200 [] for no match, no Link header, the recorded 404 for another domain", async () => {
    const desec = await startDesecStandin({ tokens: ["t"], domains: [{ name: "desec.lexicon" }] });
    close.push(() => desec.close());
    desec.standin.seed("desec.lexicon", {
      subname: "random.test",
      type: "TXT",
      records: ['"challengetoken"'],
    });
    const get = (path: string) => fetch(`${desec.apiBase}${path}`, { headers: { authorization: "Token t" } });
    const found = rec("desecRrsetsBySubname");
    const answer = await get(`/domains/desec.lexicon/rrsets/?${found.query}`);
    expect(answer.status).toBe(found.status);
    expect(answer.headers.get("link")).toBeNull();
    const body = (await answer.json()) as Record<string, unknown>[];
    const real = JSON.parse(found.body) as Record<string, unknown>[];
    expect(body).toHaveLength(real.length);
    expect(Object.keys(body[0] ?? {}).sort()).toEqual(Object.keys(real[0] ?? {}).sort());
    expect(body[0]).toMatchObject({
      subname: "random.test",
      name: "random.test.desec.lexicon.",
      type: "TXT",
      ttl: 3600,
    });
    const empty = rec("desecRrsetsBySubnameEmpty");
    const nothing = await get(`/domains/desec.lexicon/rrsets/?${empty.query}`);
    expect(nothing.status).toBe(empty.status);
    expect(await nothing.text()).toBe(empty.body);
    const gone = rec("desecUnknownDomain404");
    const other = await get("/domains/not-mine.example/rrsets/?subname=www");
    expect(other.status).toBe(gone.status);
    expect(await other.text()).toBe(gone.body);
  });

  it("Cloudflare: the recorded result_info for a name with one record and for a name with none (total_pages 1)", async () => {
    const cf = await startCloudflareStandin({
      tokens: ["t"],
      zones: [{ name: "byemike.org", id: "457dd20dded351b97830cb528f507819" }],
    });
    close.push(() => cf.close());
    cf.standin.seed("byemike.org", {
      name: "random.test.byemike.org",
      type: "TXT",
      content: "challengetoken",
      ttl: 3600,
    });
    for (const key of ["cloudflareRecordsByName", "cloudflareRecordsByNameEmpty"]) {
      const r = rec(key);
      const answer = await fetch(
        `${cf.apiBase}/zones/457dd20dded351b97830cb528f507819/dns_records?${r.query}`,
        {
          headers: { authorization: "Bearer t" },
        },
      );
      expect(answer.status).toBe(r.status);
      const body = (await answer.json()) as { result: Record<string, unknown>[]; result_info: unknown };
      const real = JSON.parse(r.body) as { result: Record<string, unknown>[]; result_info: unknown };
      expect(body.result_info).toEqual(real.result_info);
      expect(body.result).toHaveLength(real.result.length);
      if (real.result[0])
        expect(Object.keys(body.result[0] ?? {}).sort()).toEqual(Object.keys(real.result[0]).sort());
    }
  });
});
