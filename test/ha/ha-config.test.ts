/** `coordinator.ha` in healthmesh.yaml (CONTRACT §8): parsed, defaulted and refused like the rest. */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../shared/config.ts";

const base = `zone: example.com
providers:
  memory: {}
services:
  - name: web
    router: web-router
    primary: { target: a.example.net., check: { url: https://a.example.net/ } }
    secondary: { target: b.example.net., check: { url: https://b.example.net/ } }
probes:
  members:
    - { id: a, provider: fly, secretEnv: A }
`;

describe("coordinator.ha", () => {
  it("is absent by default: one coordinator with its own store", () => {
    const result = parseConfig(base);
    expect(result.ok && result.config.coordinator.ha).toBeUndefined();
  });

  it("parses the contract's example with a lease TTL in milliseconds and the default prefix", () => {
    const result = parseConfig(`${base}coordinator:
  ha:
    id: coord-hel
    url: https://coord-hel.example.net
    etcd:
      endpoints: [https://etcd-hel.example.net:2379, https://etcd-fra.example.net:2379]
      leaseTtl: 10s
`);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    expect(result.config.coordinator.ha).toEqual({
      id: "coord-hel",
      url: "https://coord-hel.example.net",
      etcd: {
        endpoints: ["https://etcd-hel.example.net:2379", "https://etcd-fra.example.net:2379"],
        prefix: "/healthmesh/",
        leaseTtl: 10_000,
      },
    });
  });

  it("refuses a lease TTL etcd cannot grant and a prefix without slashes", () => {
    const result = parseConfig(`${base}coordinator:
  ha:
    id: coord-hel
    url: https://coord-hel.example.net
    etcd: { endpoints: [http://127.0.0.1:2379], leaseTtl: 1500ms, prefix: healthmesh }
`);
    expect(result.ok).toBe(false);
    const messages = result.ok ? [] : result.issues.map((i) => `${i.path} ${i.message}`);
    expect(messages.join("\n")).toContain("etcd leases are whole seconds");
    expect(messages.join("\n")).toContain('Must start and end with "/"');
  });
});
