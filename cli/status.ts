/** Prints `GET /v1/status` as a compact terminal table. */
import type { StatusView } from "../shared/api-schema.ts";

/** Writes the status to stdout; `color` adds ANSI colours (only on a TTY). */
export function printStatus(input: unknown, options: { color: boolean }): void {
  const status = input as StatusView; // the coordinator serves this shape (shared/api-schema.ts)
  const paint = (code: number, text: string) => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const verdict = (v: string) => paint(v === "up" ? 32 : v === "down" ? 31 : 33, v);
  const dnsState = (s: string) => paint(s === "in-sync" ? 32 : s === "pending" ? 33 : 31, s);
  console.log(`zone ${status.zone} at ${status.now}`);
  for (const svc of status.services) {
    console.log(`\nservice ${svc.name}  router ${svc.router} -> ${svc.target}  active ${paint(1, svc.active)}  mode ${svc.mode}`);
    for (const endpoint of ["primary", "secondary"] as const) {
      const e = svc[endpoint];
      console.log(`  ${endpoint.padEnd(9)} ${verdict(e.verdict).padEnd(options.color ? 16 : 7)} down ${e.votes.down}  up ${e.votes.up}  abstain ${e.votes.abstain}  (${e.target})`);
    }
    for (const [provider, dns] of Object.entries(svc.dns)) {
      console.log(`  dns ${provider.padEnd(10)} ${dnsState(dns.state)}  ${dns.target ?? "-"}${dns.error ? `  ${dns.error}` : ""}`);
    }
  }
  console.log("\nprobes");
  for (const probe of status.probes) {
    const state = probe.silent ? paint(33, "silent") : probe.healthy ? paint(32, "ok") : paint(31, "unhealthy");
    console.log(`  ${probe.id.padEnd(14)} ${probe.provider.padEnd(12)} ${probe.region.padEnd(12)} ${state}  last seen ${probe.lastSeen ?? "never"}`);
  }
}
