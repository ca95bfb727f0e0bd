/** Record content as zone sync compares it, to and from Cloudflare's fields (`content`, `priority`, structured `data`). */
import type { CloudflareRecord } from "./cloudflare-routers.ts";
import { withoutDot } from "./http.ts";

/** A record's value in presentation form (MX with its priority; CAA and SRV from `data` when only that is given). */
export function fromContent(record: CloudflareRecord & { data?: Record<string, unknown> }): string {
  if (record.type === "MX") return `${record.priority ?? 0} ${record.content}`;
  if (typeof record.content === "string") return record.content;
  // Older answers give CAA and SRV only as structured `data` (octoDNS's fixtures of real output do).
  const d = record.data ?? {};
  if (record.type === "CAA")
    return `${String(d.flags ?? 0)} ${String(d.tag ?? "")} "${String(d.value ?? "")}"`;
  if (record.type === "SRV") {
    return `${String(d.priority ?? 0)} ${String(d.weight ?? 0)} ${String(d.port ?? 0)} ${String(d.target ?? "")}`;
  }
  return JSON.stringify(d);
}

/** A presentation-form value as Cloudflare's `content` (and `priority` for MX). */
export function toContent(type: string, value: string): { content: string; priority?: number } {
  if (type === "MX") {
    const [priority = "0", host = ""] = value.split(/\s+/, 2);
    return { content: withoutDot(host), priority: Number(priority) };
  }
  if (type === "CNAME" || type === "NS") return { content: withoutDot(value) };
  return { content: value };
}
