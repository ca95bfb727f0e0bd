/** Parses and checks `healthmesh.yaml`: every problem is reported with its YAML path and line. */

import type { Document } from "yaml";
import { isMap, isSeq, LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { dnsConfigIssues } from "./config-dns.ts";
import { type Config, configSchema, providerNames } from "./config-schema.ts";

/** One problem found in a config, located by its YAML path. */
export interface ConfigIssue {
  path: string;
  message: string;
  severity: "error" | "warning";
  line?: number;
}

/** The outcome of parsing a config: the config and its warnings, or every problem found. */
export type ConfigResult =
  | { ok: true; config: Config; warnings: ConfigIssue[] }
  | { ok: false; issues: ConfigIssue[] };

/** Formats a path such as `["services", 0, "primary"]` as `services[0].primary`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || "(root)";
}

/** Parses YAML text into a checked config; never throws for bad input. */
export function parseConfig(text: string): ConfigResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((error) => ({
        path: "(yaml)",
        message: `Invalid YAML: ${error.message.split("\n")[0]}`,
        severity: "error",
        line: lineCounter.linePos(error.pos[0]).line,
      })),
    };
  }
  const lineOf = (path: readonly PropertyKey[]) => lineOfPath(doc, lineCounter, path);
  const raw: unknown = doc.toJS() ?? {};
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const schemaIssues = parsed.error.issues.map((issue) => zodIssue(issue, lineOf));
    const crossIssues = crossCheckValidParts(raw, parsed.error.issues).map((issue) =>
      withLine(issue, lineOf),
    );
    return { ok: false, issues: [...schemaIssues, ...crossIssues] };
  }
  const found = crossCheck(parsed.data).map((issue) => withLine(issue, lineOf));
  const errors = found.filter((issue) => issue.severity === "error");
  if (errors.length > 0) return { ok: false, issues: found };
  return { ok: true, config: parsed.data, warnings: found };
}

/** Builds a config from a plain object (tests and the demo), throwing with every problem when it is invalid. */
export function configFromObject(input: unknown): Config {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    throw new Error(
      `Invalid config: ${parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join("; ")}`,
    );
  }
  const errors = crossCheck(parsed.data).filter((issue) => issue.severity === "error");
  if (errors.length > 0)
    throw new Error(`Invalid config: ${errors.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

/** The JSON Schema of the config file, for editors. */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" });
}

interface RawIssue {
  path: PropertyKey[];
  message: string;
  severity: "error" | "warning";
}

function zodIssue(
  issue: z.core.$ZodIssue,
  lineOf: (path: readonly PropertyKey[]) => number | undefined,
): ConfigIssue {
  let path = issue.path;
  let message = issue.message;
  if (issue.code === "unrecognized_keys") {
    path = [...issue.path, issue.keys[0] ?? ""];
    message = `Unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  }
  return withLine({ path: [...path], message, severity: "error" }, lineOf);
}

function withLine(
  issue: RawIssue,
  lineOf: (path: readonly PropertyKey[]) => number | undefined,
): ConfigIssue {
  const line = lineOf(issue.path);
  const out: ConfigIssue = { path: formatPath(issue.path), message: issue.message, severity: issue.severity };
  if (line !== undefined) out.line = line;
  return out;
}

function lineOfPath(doc: Document, counter: LineCounter, path: readonly PropertyKey[]): number | undefined {
  // Walk up to the nearest ancestor that exists in the document (a missing key points at its parent).
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth) as (string | number)[], true) as
      | { range?: [number, number, number] }
      | undefined; // getIn with keepScalar returns a Node or undefined
    if (node && typeof node === "object" && node.range) return counter.linePos(node.range[0]).line;
    if (depth > 0 && !isMap(node) && !isSeq(node) && node !== undefined) break;
  }
  return undefined;
}

/** The arrays whose elements can be set aside when they fail the schema, by the path of the array. */
const ELEMENT_ARRAYS = [["services"], ["records"], ["alerts"], ["probes", "members"]] as const;

/**
 * Cross-checks what is valid when some array elements fail the schema, so that one run reports
 * both kinds of problem: the failing elements are set aside and the paths mapped back.
 */
function crossCheckValidParts(raw: unknown, issues: readonly z.core.$ZodIssue[]): RawIssue[] {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return [];
  const failing = new Map<string, Set<number>>();
  const repaired = structuredClone(raw) as Record<string, unknown>; // checked above: a plain object
  for (const issue of issues) {
    const array = ELEMENT_ARRAYS.find((a) => a.every((key, i) => issue.path[i] === key));
    const index = array ? issue.path[array.length] : undefined;
    if (array && typeof index === "number") {
      const key = array.join(".");
      failing.set(key, (failing.get(key) ?? new Set()).add(index));
    } else {
      // A bad value outside the arrays (e.g. probes.interval): drop it so its default applies.
      const extra = issue.code === "unrecognized_keys" ? issue.keys : [];
      if (extra.length > 0) for (const key of extra) dropAt(repaired, [...issue.path, key]);
      else dropAt(repaired, issue.path);
    }
  }
  const kept = new Map<string, number[]>();
  for (const array of ELEMENT_ARRAYS) {
    const parent = array.length === 1 ? repaired : (repaired[array[0]] as Record<string, unknown>);
    const last = array[array.length - 1] as string; // the arrays above are non-empty
    const items = parent?.[last];
    if (!Array.isArray(items)) continue;
    const drop = failing.get(array.join(".")) ?? new Set<number>();
    const indexes = items.map((_, i) => i).filter((i) => !drop.has(i));
    kept.set(array.join("."), indexes);
    parent[last] = indexes.map((i) => items[i]);
  }
  const parsed = configSchema.safeParse(repaired);
  if (!parsed.success) return [];
  // Warnings count elements, so on a repaired config they would mislead: keep errors only.
  return crossCheck(parsed.data)
    .filter((issue) => issue.severity === "error")
    .map((issue) => {
      const array = ELEMENT_ARRAYS.find((a) => a.every((key, i) => issue.path[i] === key));
      const at = array?.length ?? 0;
      const index = issue.path[at];
      const original = array && typeof index === "number" ? kept.get(array.join("."))?.[index] : undefined;
      if (original === undefined) return issue;
      const path = [...issue.path];
      path[at] = original;
      return { ...issue, path };
    });
}

/** Deletes the value at `path` (no-op when the path does not lead anywhere). */
function dropAt(root: Record<string, unknown>, path: readonly PropertyKey[]): void {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (typeof node !== "object" || node === null) return;
    node = (node as Record<PropertyKey, unknown>)[key]; // walking the plain object that YAML produced
  }
  const last = path.at(-1);
  if (last !== undefined && typeof node === "object" && node !== null)
    delete (node as Record<PropertyKey, unknown>)[last];
}

function hostOf(url: string): string {
  return new URL(url).hostname.toLowerCase().replace(/\.$/, "");
}

function crossCheck(config: Config): RawIssue[] {
  const issues: RawIssue[] = [];
  const error = (path: PropertyKey[], message: string) => issues.push({ path, message, severity: "error" });
  const warn = (path: PropertyKey[], message: string) => issues.push({ path, message, severity: "warning" });

  for (const [i, name] of duplicates(config.services.map((s) => s.name))) {
    error(["services", i, "name"], `Duplicate service name "${name}"`);
  }
  for (const [i, router] of duplicates(config.services.map((s) => s.router))) {
    error(["services", i, "router"], `Router "${router}" is already used by another service`);
  }
  for (const [i, id] of duplicates(config.probes.members.map((m) => m.id))) {
    error(["probes", "members", i, "id"], `Duplicate probe id "${id}"`);
  }
  for (const [i, key] of duplicates(config.records.map((r) => `${r.name} ${r.type}`))) {
    error(["records", i], `Duplicate record "${key}"`);
  }
  for (const [i, name] of duplicates(config.alerts.map((a, i) => a.name ?? `${a.type}#${i}`))) {
    error(["alerts", i, "name"], `Duplicate alert name "${name}"`);
  }

  const declared = new Set(config.records.map((r) => r.name));
  config.services.forEach((service, i) => {
    const routerFqdn = service.router === "@" ? config.zone : `${service.router}.${config.zone}`;
    if (declared.has(service.router)) {
      error(
        ["services", i, "router"],
        `Router "${service.router}" is also declared under records: the router belongs to failover, remove it from records`,
      );
    }
    for (const endpoint of ["primary", "secondary"] as const) {
      const target = service[endpoint].target.slice(0, -1);
      if (target === routerFqdn) {
        error(
          ["services", i, endpoint, "target"],
          `Target "${target}" is the router itself: point it at the path's own host`,
        );
      }
      if (hostOf(service[endpoint].check.url) === routerFqdn) {
        error(
          ["services", i, endpoint, "check", "url"],
          `Check URL host "${routerFqdn}" is the router itself: after a failover it would check the live path, not the ${endpoint}, and flap; check the ${endpoint}'s own host`,
        );
      }
    }
    if (service.primary.target === service.secondary.target) {
      error(["services", i, "secondary", "target"], "Secondary target is the same as the primary target");
    }
    for (const provider of providerNames) {
      if (service[provider] && !config.providers[provider]) {
        error(
          ["services", i, provider],
          `Override for provider "${provider}", which is not configured under providers`,
        );
      }
    }
  });

  for (const issue of dnsConfigIssues(config)) error(issue.path, issue.message);

  config.probes.members.forEach((member, i) => {
    if (member.mode === "pull" && !member.url) {
      error(
        ["probes", "members", i, "url"],
        `Pull-mode probe "${member.id}" needs a url the coordinator can call`,
      );
    }
  });
  const members = config.probes.members;
  if (members.length < 3) {
    warn(
      ["probes", "members"],
      `Only ${members.length} probe(s): use at least 3 so that one lost probe cannot block or force a decision`,
    );
  }
  const edges = new Set(members.map((m) => m.provider));
  if (members.length > 1 && edges.size === 1) {
    warn(
      ["probes", "members"],
      `All probes run on one edge provider ("${[...edges][0]}"): they share its outages, spread them over at least two`,
    );
  }
  if (config.probes.quorum === "providers" && edges.size < 3) {
    warn(
      ["probes", "quorum"],
      `Quorum "providers" with ${edges.size} edge provider(s): a majority of fewer than 3 providers tolerates no lost provider`,
    );
  }
  return issues;
}

/** Each value that repeats an earlier one, with the index of its first repetition. */
function duplicates(values: string[]): [number, string][] {
  const seen = new Set<string>();
  const found = new Map<string, number>();
  values.forEach((value, index) => {
    if (seen.has(value) && !found.has(value)) found.set(value, index);
    seen.add(value);
  });
  return [...found].map(([value, index]) => [index, value]);
}
