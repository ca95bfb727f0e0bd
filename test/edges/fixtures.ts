/** Shared fixtures of the edge tests: configs, a routing fake `fetch`, and signed run requests. */
import { configFromObject } from "../../shared/config.ts";
import type { Config } from "../../shared/config-schema.ts";
import type { RunRequest } from "../../shared/protocol.ts";
import { signedHeaders } from "../../shared/signing.ts";

/** A probe member of a test mesh. */
export interface TestMember {
  id: string;
  provider: string;
  mode: "push" | "pull";
  url?: string;
}

/** A one-service config whose primary and secondary are checked at the given URLs. */
export function meshConfig(options: {
  primaryUrl: string;
  secondaryUrl: string;
  members: TestMember[];
  interval?: string;
  pullTimeout?: string;
  canaries?: string[];
  confirmInterval?: string;
  maxConfirming?: number;
}): Config {
  return configFromObject({
    zone: "example.com",
    providers: { memory: {} },
    services: [
      {
        name: "web",
        router: "web-router",
        primary: {
          target: "cf-front.example.com.",
          check: { url: options.primaryUrl, bodyContains: "ok", timeout: "1s" },
        },
        secondary: { target: "cdn2-front.example.com.", check: { url: options.secondaryUrl, timeout: "1s" } },
        failAfter: 2,
        recoverAfter: 2,
        holdDown: "0s",
      },
    ],
    probes: {
      interval: options.interval ?? "10s",
      ...(options.pullTimeout ? { pullTimeout: options.pullTimeout } : {}),
      ...(options.canaries ? { canaries: options.canaries } : {}),
      ...(options.confirmInterval ? { confirmInterval: options.confirmInterval } : {}),
      ...(options.maxConfirming ? { maxConfirming: options.maxConfirming } : {}),
      members: options.members.map((m) => ({ ...m, region: "test", secretEnv: secretEnv(m.id) })),
    },
  });
}

/** The env variable that holds a member's secret in these tests. */
export function secretEnv(id: string): string {
  return `SECRET_${id.replace(/[^a-z0-9]/gi, "_").toUpperCase()}`;
}

/** An env with an API token and a fresh secret per member. */
export function meshEnv(members: readonly TestMember[]): Record<string, string> {
  const env: Record<string, string> = { HEALTHMESH_API_TOKEN: crypto.randomUUID() };
  for (const m of members) env[secretEnv(m.id)] = `secret-${m.id}-${crypto.randomUUID()}`;
  return env;
}

/** A fake `fetch` that routes by URL prefix; unknown URLs fail like a refused connection. */
export function routedFetch(
  routes: Record<string, (request: Request) => Response | Promise<Response>>,
): typeof fetch & { calls: string[] } {
  const calls: string[] = [];
  const fake = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    calls.push(`${request.method} ${request.url}`);
    const prefix = Object.keys(routes)
      .filter((p) => request.url.startsWith(p))
      .sort((a, b) => b.length - a.length)[0];
    const route = prefix === undefined ? undefined : routes[prefix];
    if (!route)
      throw new TypeError("fetch failed", {
        cause: Object.assign(new Error("refused"), { code: "ECONNREFUSED" }),
      });
    return route(request);
  };
  return Object.assign(fake, { calls });
}

/** A signed `POST /v1/run` request for `probeId`, as the coordinator sends it. */
export async function signedRun(
  url: string,
  run: RunRequest,
  options: { secret: string; nowMs: number; headerProbe?: string },
): Promise<Request> {
  const body = JSON.stringify(run);
  const headers = await signedHeaders(options.headerProbe ?? run.probe, options.secret, body, options.nowMs);
  return new Request(`${url}/v1/run`, {
    method: "POST",
    body,
    headers: { ...headers, "content-type": "application/json" },
  });
}
