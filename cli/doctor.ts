/** `healthmesh doctor` (and the second half of `validate --online`): the two-provider preflight of the zone. */
import { type DoctorFinding, runDoctor } from "../coordinator/dns/doctor.ts";
import type { NameserverClient } from "../coordinator/dns/nameserver.ts";
import { UdpNameserverClient } from "../coordinator/dns/nameserver-udp.ts";
import { systemClock } from "../shared/clock.ts";
import type { Config } from "../shared/config-schema.ts";

/** What the command reads and writes through. */
export interface DoctorCommandWorld {
  env: (name: string) => string | undefined;
  fetch: typeof fetch;
  write: (line: string) => void;
  client?: NameserverClient;
}

/** Prints every finding (with its fix) and returns the exit code: 1 when something is broken, else 0. */
export async function runDoctorCommand(config: Config, w: DoctorCommandWorld): Promise<number> {
  const findings = await runDoctor(config, {
    env: w.env,
    fetch: w.fetch,
    client: w.client ?? new UdpNameserverClient(),
    clock: systemClock(),
    timeoutMs: config.nameserverChecks.timeout,
  });
  for (const line of formatFindings(findings)) w.write(line);
  return findings.some((f) => f.level === "error") ? 1 : 0;
}

/** One line per finding, `level check provider: message`, and an indented `fix:` line where there is one. */
export function formatFindings(findings: readonly DoctorFinding[]): string[] {
  return findings.flatMap((f) => [
    `${f.level.padEnd(7)} ${f.check.padEnd(14)} ${f.provider ? `${f.provider}: ` : ""}${f.message}`,
    ...(f.fix ? [`        fix: ${f.fix}`] : []),
  ]);
}
