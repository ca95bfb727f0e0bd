/** Reading deSEC's answers: the Link header's next page, DRF error bodies, and values in presentation format. */
import { summariseBody } from "./http.ts";

/** The URL of the `rel="next"` link of a Link header, if any. */
export function nextLink(header: string | null): string | null {
  if (!header) return null;
  for (const part of header.split(",")) {
    const match = /<([^>]*)>\s*;\s*rel="?next"?/.exec(part);
    if (match?.[1]) return match[1];
  }
  return null;
}

/** The positions a bulk error list names (deSEC answers `{}` for the items it had nothing against). */
export function refusedItems(body: unknown): number[] {
  if (!Array.isArray(body)) return [];
  return body.flatMap((entry, i) =>
    entry && typeof entry === "object" && Object.keys(entry).length > 0 ? [i] : [],
  );
}

/** deSEC's error bodies (`{detail}`, a field map, or a list aligned with a bulk request) as one line; an HTML page is summarised. */
export function describeDesecError(body: unknown, items: readonly unknown[], status = 0): string {
  const fields = (value: unknown): string =>
    value && typeof value === "object"
      ? Object.entries(value)
          .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : String(v)}`)
          .join("; ")
      : String(value);
  if (Array.isArray(body)) {
    return body
      .map((entry, i) => {
        if (!entry || typeof entry !== "object" || Object.keys(entry).length === 0) return null;
        const item = items[i] as { subname?: unknown; type?: unknown } | undefined; // the request item at that position
        const label = item ? `"${String(item.subname)}" ${String(item.type)}` : `item ${i}`;
        return `${label}: ${fields(entry)}`;
      })
      .filter((line) => line !== null)
      .join("; ");
  }
  if (body && typeof body === "object") {
    const detail = (body as { detail?: unknown }).detail; // DRF's {"detail": ...}
    return typeof detail === "string" ? detail : fields(body);
  }
  return summariseBody(status, body);
}

/** A value as deSEC wants it in `records`: TXT quoted, host names with the trailing dot. */
export function toPresentation(type: string, value: string): string {
  if (type === "TXT") return `"${value.replace(/"/g, '\\"')}"`;
  if (type === "CNAME" || type === "NS") return value.endsWith(".") ? value : `${value}.`;
  return value;
}
