/** The mesh a chaos scenario runs: its config file, the API shapes it reads, and signed reports sent by hand. */
import type { Report } from "../../shared/protocol.ts";
import { signedHeaders } from "../../shared/signing.ts";
import { startCloudflareStandin } from "../../standins/cloudflare.ts";
import { startDesecStandin } from "../../standins/desec.ts";
import type { Cleanup } from "./processes.ts";

export const ZONE = "example.com";
export const CF_TOKEN = "chaos-cf-token";
export const DESEC_TOKEN = "chaos-desec-token";
export const PRIMARY = "cf-front.example.net.";
export const SECONDARY = "cdn2-front.example.net.";
export const ROUTER = `web-router.${ZONE}`;

/** What a scenario's config is built from. */
export interface MeshOptions {
  probes: string[];
  primaryUrl: string;
  secondaryUrl: string;
  interval?: string;
  failAfter?: number;
  recoverAfter?: number;
  holdDown?: string;
  canaries?: string[];
  /** Stand-in API bases; the memory provider when absent. */
  cloudflare?: string;
  desec?: string;
  /** Reconciler tuning for both providers. */
  providerTimeout?: string;
  maxBackoff?: string;
  /** Pull-mode members: probe id → the URL the coordinator calls (`POST {url}/v1/run`). */
  pull?: Record<string, string>;
  /** A webhook alert destination, its URL from env ALERT_URL. */
  alertGroupWait?: string;
}

/** The environment every probe secret and provider token comes from. */
export function meshEnv(probes: string[]): Record<string, string> {
  const env: Record<string, string> = { CF_TOKEN, DESEC_TOKEN };
  for (const id of probes) env[secretEnv(id)] = secretOf(id);
  return env;
}

/** The secret of probe `id`. */
export function secretOf(id: string): string {
  return `chaos-secret-${id}`;
}

function secretEnv(id: string): string {
  return `SECRET_${id.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/** A `healthmesh.yaml` for one service `web` switched between two loopback origins. */
export function meshYaml(o: MeshOptions): string {
  const tuning = `timeout: ${o.providerTimeout ?? "2s"}, maxBackoff: ${o.maxBackoff ?? "1s"}`;
  const providers =
    o.cloudflare || o.desec
      ? [
          o.cloudflare ? `  cloudflare: { tokenEnv: CF_TOKEN, apiBase: "${o.cloudflare}", ${tuning} }` : "",
          o.desec ? `  desec: { tokenEnv: DESEC_TOKEN, apiBase: "${o.desec}", ${tuning} }` : "",
        ]
          .filter(Boolean)
          .join("\n")
      : `  memory: { ${tuning} }`;
  const alerts = o.alertGroupWait
    ? `alerts:\n  - { type: webhook, urlEnv: ALERT_URL, groupWait: ${o.alertGroupWait}, repeatInterval: 0s }\n`
    : "";
  return `zone: ${ZONE}
providers:
${providers}
services:
  - name: web
    router: web-router
    ttl: 60
${o.desec ? "    desec: { ttl: 3600 }\n" : ""}    primary:
      target: ${PRIMARY}
      check: { url: "${o.primaryUrl}/healthz", bodyContains: ok, timeout: 1s }
    secondary:
      target: ${SECONDARY}
      check: { url: "${o.secondaryUrl}/healthz", timeout: 1s }
    failAfter: ${o.failAfter ?? 2}
    recoverAfter: ${o.recoverAfter ?? 2}
    holdDown: ${o.holdDown ?? "0s"}
probes:
  interval: ${o.interval ?? "500ms"}
${o.canaries ? `  canaries: [${o.canaries.map((c) => `"${c}"`).join(", ")}]\n` : ""}  members:
${o.probes.map((id, i) => `    - { id: ${id}, provider: edge-${i}, secretEnv: ${secretEnv(id)}${pullOf(o, id)} }`).join("\n")}
${alerts}`;
}

function pullOf(o: MeshOptions, id: string): string {
  const url = o.pull?.[id];
  return url ? `, mode: pull, url: "${url}"` : "";
}

/** The parts of `GET /v1/status` the scenarios read. */
export interface Status {
  services: {
    active: "primary" | "secondary";
    mode: string;
    primary: { verdict: string; votes: { up: number; down: number; abstain: number } };
    dns: Record<string, { state: string; target: string | null; error?: string }>;
    results: { probe: string; endpoint: string; vote: string }[];
  }[];
  probes: { id: string; lastSeen: string | null; healthy: boolean; silent: boolean }[];
}

/** The parts of `GET /v1/events` the scenarios read. */
export interface Events {
  events: { id: number; at: string; type: string; provider?: string; message: string }[];
}

let reportSeq = 0;

/** Posts one signed report from `probe` (its results for service `web`), signed at `nowMs`. */
export async function postReport(
  base: string,
  probe: string,
  results: { primary: boolean; secondary: boolean },
  options: { nowMs?: number; healthy?: boolean } = {},
): Promise<Response> {
  const nowMs = options.nowMs ?? Date.now();
  const at = new Date(nowMs).toISOString();
  const report: Report = {
    id: `chaos-${process.pid}-${++reportSeq}-${Math.random().toString(36).slice(2)}`,
    probe,
    sentAt: at,
    healthy: options.healthy ?? true,
    results: (["primary", "secondary"] as const).map((endpoint) => ({
      service: "web",
      endpoint,
      ok: results[endpoint],
      checkedAt: at,
    })),
  };
  const body = JSON.stringify(report);
  const headers = await signedHeaders(probe, secretOf(probe), body, nowMs);
  return fetch(`${base}/v1/reports`, {
    method: "POST",
    body,
    headers: { ...headers, "content-type": "application/json" },
  });
}

/** Both DNS stand-ins on loopback, with generous rate limits unless told otherwise. */
export async function startStandins(
  cleanup: Cleanup,
  options: { desecLimits?: Parameters<typeof startDesecStandin>[0]["limits"] } = {},
) {
  const roomy = [{ limit: 1000, windowMs: 1000 }];
  const cf = await startCloudflareStandin({ tokens: [CF_TOKEN], zones: [{ name: ZONE }] });
  const desec = await startDesecStandin({
    tokens: [DESEC_TOKEN],
    domains: [{ name: ZONE, minimumTtl: 3600 }],
    limits: options.desecLimits ?? { write: roomy, read: roomy },
  });
  cleanup.add(() => Promise.all([cf.close(), desec.close()]));
  const cfTarget = () => {
    for (const record of cf.standin.records(ZONE).values()) {
      if (record.name === ROUTER && record.type === "CNAME") return `${record.content.replace(/\.$/, "")}.`;
    }
    return null;
  };
  const desecTarget = () => desec.standin.rrsets(ZONE).get("web-router/CNAME")?.records[0] ?? null;
  return { cf, desec, cfTarget, desecTarget };
}

/** Probes played by the test itself: every `intervalMs` each one posts a signed report of what `primaryOk` says. */
export function startVoters(
  base: string,
  probes: readonly string[],
  options: { intervalMs: number; primaryOk: () => boolean; cleanup: Cleanup },
): void {
  const round = () => {
    for (const probe of probes) {
      postReport(base, probe, { primary: options.primaryOk(), secondary: true }).catch(() => undefined); // coordinator down: a silent probe
    }
  };
  round();
  const timer = setInterval(round, options.intervalMs);
  options.cleanup.add(() => clearInterval(timer));
}
