import { afterEach, describe, expect, it } from "vitest";
import { keyTag, parseAddress } from "../../coordinator/dns/nameserver.ts";
import { UdpNameserverClient } from "../../coordinator/dns/nameserver-udp.ts";
import { type StandinDnsServer, startDnsServer } from "../../standins/dns-server.ts";

let server: StandinDnsServer | null = null;
afterEach(async () => {
  await server?.stop();
  server = null;
});

const ZONE = "example.com";
const many = Array.from({ length: 60 }, (_, i) => `192.0.2.${i + 1}`);

describe("the UDP nameserver client", () => {
  it("falls back to TCP when the UDP answer is truncated, and gets every record", async () => {
    server = await startDnsServer({
      zone: ZONE,
      source: () => [{ name: `big.${ZONE}`, type: "A", ttl: 60, values: many }],
      udpLimit: 512,
    });
    const answer = await new UdpNameserverClient().query(
      { host: "127.0.0.1", port: server.port },
      { name: `big.${ZONE}`, type: "A" },
    );
    expect(answer.tcp).toBe(true);
    expect(answer.authoritative).toBe(true);
    expect(answer.answers.map((a) => a.value).sort()).toEqual([...many].sort());
  });

  it("stays on UDP for a small answer and reads a CNAME with its trailing dot", async () => {
    server = await startDnsServer({
      zone: ZONE,
      source: () => [{ name: `www.${ZONE}`, type: "CNAME", ttl: 60, values: ["Target.Example.net"] }],
    });
    const answer = await new UdpNameserverClient().query(
      { host: "127.0.0.1", port: server.port },
      { name: `www.${ZONE}`, type: "CNAME" },
    );
    expect(answer).toMatchObject({ tcp: false, rcode: "NOERROR" });
    expect(answer.answers).toEqual([
      { name: `www.${ZONE}.`, ttl: 60, type: "CNAME", value: "target.example.net." },
    ]);
  });

  it("says NXDOMAIN for a name the zone lacks and REFUSED outside the zone", async () => {
    server = await startDnsServer({ zone: ZONE, source: () => [] });
    const client = new UdpNameserverClient();
    const at = { host: "127.0.0.1", port: server.port };
    expect((await client.query(at, { name: `nope.${ZONE}`, type: "A" })).rcode).toBe("NXDOMAIN");
    expect((await client.query(at, { name: "example.org", type: "A" })).rcode).toBe("REFUSED");
  });

  it("gives up with a NameserverError naming the server when nothing answers", async () => {
    server = await startDnsServer({ zone: ZONE, source: () => [] });
    const port = server.port;
    await server.stop();
    server = null;
    await expect(
      new UdpNameserverClient().query(
        { host: "127.0.0.1", port },
        { name: ZONE, type: "SOA" },
        { timeoutMs: 200 },
      ),
    ).rejects.toThrow(`127.0.0.1:${port}`);
  });
});

describe("nameserver addresses and keys", () => {
  it("parses host, host:port and [v6]:port", () => {
    expect(parseAddress("ns1.desec.io")).toEqual({ host: "ns1.desec.io", port: 53 });
    expect(parseAddress("127.0.0.1:5301")).toEqual({ host: "127.0.0.1", port: 5301 });
    expect(parseAddress("[::1]:5302")).toEqual({ host: "::1", port: 5302 });
  });

  it("computes the RFC 4034 key tag of a DNSKEY", () => {
    // The root zone's KSK-2017 (flags 257, protocol 3, algorithm 8) has the well-known key tag 20326.
    const key = Buffer.from(
      "AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU=",
      "base64",
    );
    expect(keyTag(Uint8Array.from([1, 1, 3, 8, ...key]))).toBe(20326);
  });
});
