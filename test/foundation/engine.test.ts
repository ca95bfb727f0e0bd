import { describe, expect, it } from "vitest";
import {
  type Decision,
  decide,
  nextPrimaryUpSince,
  type RoundVerdicts,
  type ServiceState,
} from "../../coordinator/engine.ts";
import type { Verdict } from "../../shared/quorum.ts";

const tally = { up: 0, down: 0, abstain: 0 };
const round = (primary: Verdict, secondary: Verdict): RoundVerdicts => ({
  primary: { verdict: primary, votes: tally },
  secondary: { verdict: secondary, votes: tally },
});
const state = (patch: Partial<ServiceState> = {}): ServiceState => ({
  name: "web",
  active: "primary",
  mode: "auto",
  lastSwitchAt: null,
  primaryUpSince: null,
  bothDown: false,
  held: false,
  activeDown: false,
  ...patch,
});
const policy = { autoFailback: true, holdDownMs: 300_000 };
const NOW = 1_000_000_000;

describe("nextPrimaryUpSince()", () => {
  it("starts when the primary turns UP, keeps its start while UP, and clears when it leaves UP", () => {
    expect(nextPrimaryUpSince(null, "up", NOW)).toBe(NOW);
    expect(nextPrimaryUpSince(NOW - 5, "up", NOW)).toBe(NOW - 5);
    expect(nextPrimaryUpSince(NOW - 5, "unknown", NOW)).toBeNull();
    expect(nextPrimaryUpSince(NOW - 5, "down", NOW)).toBeNull();
  });
});

describe("decide()", () => {
  const cases: {
    why: string;
    s: Partial<ServiceState>;
    p: Verdict;
    sec: Verdict;
    expected: Decision;
    autoFailback?: boolean;
  }[] = [
    {
      why: "fails over when the primary is DOWN and the secondary UP",
      s: {},
      p: "down",
      sec: "up",
      expected: { kind: "switch", type: "failover", from: "primary", to: "secondary", reason: "live-down" },
    },
    {
      why: "fails over when the secondary is UNKNOWN (not down)",
      s: {},
      p: "down",
      sec: "unknown",
      expected: { kind: "switch", type: "failover", from: "primary", to: "secondary", reason: "live-down" },
    },
    {
      why: "does not switch when both are DOWN",
      s: {},
      p: "down",
      sec: "down",
      expected: { kind: "both-down" },
    },
    {
      why: "does nothing while the primary is UNKNOWN",
      s: {},
      p: "unknown",
      sec: "up",
      expected: { kind: "none" },
    },
    { why: "does nothing while the primary is UP", s: {}, p: "up", sec: "up", expected: { kind: "none" } },
    {
      why: "fails back once the primary has been UP for holdDown",
      s: { active: "secondary", primaryUpSince: NOW - 300_000 },
      p: "up",
      sec: "up",
      expected: {
        kind: "switch",
        type: "failback",
        from: "secondary",
        to: "primary",
        reason: "primary-stable",
      },
    },
    {
      why: "fails back at once when the live secondary is DOWN and the primary UP, whatever holdDown says",
      s: { active: "secondary", primaryUpSince: NOW, lastSwitchAt: NOW - 1 },
      p: "up",
      sec: "down",
      expected: { kind: "switch", type: "failback", from: "secondary", to: "primary", reason: "live-down" },
    },
    {
      why: "fails back from a DOWN secondary also without autoFailback",
      s: { active: "secondary", primaryUpSince: NOW },
      p: "up",
      sec: "down",
      autoFailback: false,
      expected: { kind: "switch", type: "failback", from: "secondary", to: "primary", reason: "live-down" },
    },
    {
      why: "does not leave a DOWN secondary while the primary is UNKNOWN, and says so (active-down)",
      s: { active: "secondary" },
      p: "unknown",
      sec: "down",
      expected: { kind: "active-down", active: "secondary" },
    },
    {
      why: "reports a DOWN live secondary with an UNKNOWN primary also when pinned",
      s: { active: "secondary", mode: "pinned" },
      p: "unknown",
      sec: "down",
      expected: { kind: "active-down", active: "secondary" },
    },
    {
      why: "does not leave a DOWN live primary for a DOWN secondary: that is both-down, not active-down",
      s: {},
      p: "down",
      sec: "down",
      expected: { kind: "both-down" },
    },
    {
      why: "a paused service on a DOWN secondary with the primary UP: suppressed, not switched",
      s: { active: "secondary", mode: "paused", primaryUpSince: NOW },
      p: "up",
      sec: "down",
      expected: { kind: "suppressed", type: "failback", to: "primary", mode: "paused" },
    },
    {
      why: "does not fail back while the primary is UNKNOWN",
      s: { active: "secondary" },
      p: "unknown",
      sec: "up",
      expected: { kind: "none" },
    },
    {
      why: "does not fail back without autoFailback",
      s: { active: "secondary" },
      p: "up",
      sec: "up",
      autoFailback: false,
      expected: { kind: "none" },
    },
    {
      why: "never switches a paused service, but says what it would have done",
      s: { mode: "paused" },
      p: "down",
      sec: "up",
      expected: { kind: "suppressed", type: "failover", to: "secondary", mode: "paused" },
    },
    {
      why: "reports both paths down also for a paused service",
      s: { mode: "paused" },
      p: "down",
      sec: "down",
      expected: { kind: "both-down" },
    },
    {
      why: "reports both paths down also for a pinned service",
      s: { mode: "pinned", active: "secondary" },
      p: "down",
      sec: "down",
      expected: { kind: "both-down" },
    },
    {
      why: "never switches a pinned service, but says what it would have done",
      s: { mode: "pinned", active: "secondary", primaryUpSince: NOW - 300_000 },
      p: "up",
      sec: "up",
      expected: { kind: "suppressed", type: "failback", to: "primary", mode: "pinned" },
    },
    {
      why: "says nothing of a pinned service whose fail-back would not be due yet",
      s: { mode: "pinned", active: "secondary", primaryUpSince: NOW - 10_000 },
      p: "up",
      sec: "up",
      expected: { kind: "none" },
    },
    {
      why: "never holds a failover, even right after a switch (fail over fast)",
      s: { lastSwitchAt: NOW - 1, primaryUpSince: null },
      p: "down",
      sec: "up",
      expected: { kind: "switch", type: "failover", from: "primary", to: "secondary", reason: "live-down" },
    },
    {
      why: "holds a fail-back until the primary has been UP for holdDown",
      s: { active: "secondary", primaryUpSince: NOW - 299_999 },
      p: "up",
      sec: "up",
      expected: { kind: "held", type: "failback", to: "primary", until: NOW + 1 },
    },
    {
      why: "holds a fail-back for a primary that turned UP this round",
      s: { active: "secondary", primaryUpSince: NOW, lastSwitchAt: NOW - 3_600_000 },
      p: "up",
      sec: "up",
      expected: { kind: "held", type: "failback", to: "primary", until: NOW + 300_000 },
    },
    {
      why: "stays on the secondary while the primary is still DOWN",
      s: { active: "secondary" },
      p: "down",
      sec: "up",
      expected: { kind: "none" },
    },
  ];
  it.each(cases)("$why", ({ s, p, sec, expected, autoFailback }) => {
    expect(decide(state(s), round(p, sec), { ...policy, autoFailback: autoFailback ?? true }, NOW)).toEqual(
      expected,
    );
  });
});
