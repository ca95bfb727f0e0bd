/** `healthmesh status`: the facts of the status page as compact terminal tables (colour on a TTY only). */
import type { ServiceStatus, StatusView } from "../shared/api-schema.ts";

/** One table cell: text and an optional ANSI colour. */
interface Cell {
  text: string;
  color?: number;
}

const GREEN = 32;
const RED = 31;
const YELLOW = 33;
const BOLD = 1;
const DIM = 2;

const verdictColor = (v: string) => (v === "up" ? GREEN : v === "down" ? RED : YELLOW);
const stateColor = (s: string) => (s === "in-sync" ? GREEN : s === "pending" ? YELLOW : RED);

/** Renders `GET /v1/status` as text; `color` adds ANSI colours. */
export function formatStatus(status: StatusView, options: { color: boolean }): string {
  const now = Date.parse(status.now);
  const ago = (iso: string | null | undefined) => (iso ? `${age(now - Date.parse(iso))} ago` : "never");
  const render = (rows: Cell[][]) => table(rows, options.color);
  const services: Cell[][] = [
    header("SERVICE", "LIVE", "MODE", "PRIMARY", "SECONDARY", "SWITCHED"),
    ...status.services.map((svc) => [
      { text: svc.name, color: BOLD },
      { text: svc.active, color: svc.active === "primary" ? GREEN : YELLOW },
      { text: svc.mode, ...(svc.mode === "auto" ? {} : { color: YELLOW }) },
      verdictCell(svc.primary),
      verdictCell(svc.secondary),
      { text: svc.lastSwitchAt ? ago(svc.lastSwitchAt) : "-" },
    ]),
  ];
  // The column appears once a coordinator that can ask nameservers (Node) has asked them.
  const withNs = status.services.some((svc) => Object.values(svc.dns).some((d) => d.serving));
  const dns: Cell[][] = [
    header("SERVICE", "PROVIDER", "STATE", "SERVING", ...(withNs ? ["NAMESERVERS"] : []), "UPDATED", "ERROR"),
    ...status.services.flatMap((svc) =>
      Object.entries(svc.dns).map(([provider, d]) => [
        { text: svc.name },
        { text: provider },
        { text: d.state, color: stateColor(d.state) },
        d.target === svc.target
          ? { text: d.target ?? "-" }
          : { text: `${d.target ?? "(nothing)"} ≠ live`, color: RED },
        ...(withNs ? [nameserverCell(d.serving)] : []),
        { text: ago(d.updatedAt) },
        { text: d.error ?? "", color: RED },
      ]),
    ),
  ];
  const columns = status.services.flatMap((svc) =>
    (["primary", "secondary"] as const).map((endpoint) => ({ svc, endpoint })),
  );
  const probes: Cell[][] = [
    header(
      "PROBE",
      "PROVIDER",
      "REGION",
      "SEEN",
      "STATE",
      ...columns.map((c) => `${c.svc.name}/${c.endpoint}`),
    ),
    ...status.probes.map((p) => [
      { text: p.id, color: BOLD },
      { text: p.provider },
      { text: p.region },
      { text: ago(p.lastSeen) },
      p.silent || p.lastSeen === null
        ? { text: "STALE", color: RED }
        : p.healthy
          ? { text: "ok", color: GREEN }
          : { text: "unhealthy", color: RED },
      ...columns.map((c) => resultCell(c.svc, p.id, c.endpoint)),
    ]),
  ];
  const title = paint(`healthmesh · ${status.zone} · ${status.now}`, BOLD, options.color);
  return [title, "", render(services), "", render(dns), "", render(probes), ""].join("\n");
}

/** Writes the status to stdout; `color` adds ANSI colours (only on a TTY). */
export function printStatus(input: unknown, options: { color: boolean }): void {
  const status = input as StatusView; // the coordinator serves this shape (shared/api-schema.ts)
  process.stdout.write(formatStatus(status, options));
}

function header(...titles: string[]): Cell[] {
  return titles.map((text) => ({ text, color: DIM }));
}

function verdictCell(e: ServiceStatus["primary"]): Cell {
  const v = e.votes;
  return {
    text: `${e.verdict.toUpperCase()} ${v.down}↓ ${v.up}↑ ${v.abstain}·`,
    color: verdictColor(e.verdict),
  };
}

function resultCell(svc: ServiceStatus, probe: string, endpoint: "primary" | "secondary"): Cell {
  const r = svc.results.find((x) => x.probe === probe && x.endpoint === endpoint);
  if (!r || r.ok === null) return { text: "-", color: DIM };
  const latency = r.latencyMs === undefined ? "" : ` ${Math.round(r.latencyMs)}ms`;
  const mark = r.ok ? "✓" : `✗${r.status ? ` ${r.status}` : ""}`;
  return { text: `${mark}${latency} ${r.vote}`, color: r.ok ? GREEN : RED };
}

function table(rows: Cell[][], color: boolean): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.text.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => {
          const padded = i === row.length - 1 ? cell.text : cell.text.padEnd(widths[i] ?? 0);
          return cell.color === undefined ? padded : paint(padded, cell.color, color);
        })
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function paint(text: string, code: number, color: boolean): string {
  return color && text !== "" ? `\u001b[${code}m${text}\u001b[0m` : text;
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** What the provider's own nameservers answer (DNS, not the API): a check mark, or what they still serve. */
function nameserverCell(serving: StatusView["services"][number]["dns"][string]["serving"]): Cell {
  if (!serving) return { text: "-" };
  if (serving.matches) return { text: "\u2713 serve it" };
  const values = serving.values === null ? "disagree" : serving.values.join(", ") || "(nothing)";
  return { text: `${values}${serving.lagging ? " (lagging)" : ""}`, color: RED };
}
