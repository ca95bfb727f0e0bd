import { describe, expect, it } from "vitest";
import { severityOf } from "../../coordinator/alerts/message.ts";
import type { AuditEvent } from "../../coordinator/store/store.ts";

const event = (to: "primary" | "secondary"): AuditEvent => ({
  id: 1,
  at: "2026-01-01T00:00:00.000Z",
  type: "switch.suppressed",
  service: "web",
  to,
  message: "m",
});

describe("switch.suppressed alerts", () => {
  it("page (critical) for a failover a pause or pin holds back, and warn for a fail-back", () => {
    expect(severityOf(event("secondary"))).toBe("critical");
    expect(severityOf(event("primary"))).toBe("warning");
  });
});
