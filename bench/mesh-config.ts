/** The config the in-process benchmarks share: `services` services on the memory DNS provider, `probes` push probes. */
import { configFromObject } from "../shared/config.ts";
import type { Config } from "../shared/config-schema.ts";

export function benchMeshConfig(services: number, probes: number): Config {
  return configFromObject({
    zone: "example.com",
    providers: { memory: {} },
    services: Array.from({ length: services }, (_, i) => ({
      name: `svc${i}`,
      router: `svc${i}-router`,
      primary: { target: `svc${i}-a.example.net.`, check: { url: `https://svc${i}-a.example.net/healthz` } },
      secondary: {
        target: `svc${i}-b.example.net.`,
        check: { url: `https://svc${i}-b.example.net/healthz` },
      },
    })),
    probes: {
      interval: "10s",
      members: Array.from({ length: probes }, (_, i) => ({
        id: `p${i}`,
        provider: `edge${i}`,
        secretEnv: "S",
      })),
    },
  });
}
