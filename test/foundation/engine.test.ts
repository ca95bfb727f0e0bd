import { describe, expect, it } from "vitest";
import { type Decision, decide, type RoundVerdicts, type ServiceState } from "../../coordinator/engine.ts";
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
  bothDown: false,
  held: false,
  ...patch,
});
const policy = { autoFailback: true, holdDownMs: 300_000 };
const NOW = 1_000_000_000;

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
      expected: { kind: "switch", type: "failover", from: "primary", to: "secondary" },
    },
    {
      why: "fails over when the secondary is UNKNOWN (not down)",
      s: {},
      p: "down",
      sec: "unknown",
      expected: { kind: "switch", type: "failover", from: "primary", to: "secondary" },
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
      why: "fails back when the primary is UP again",
      s: { active: "secondary" },
      p: "up",
      sec: "up",
      expected: { kind: "switch", type: "failback", from: "secondary", to: "primary" },
    },
    {
      why: "fails back even when the secondary is down, because the primary is UP",
      s: { active: "secondary" },
      p: "up",
      sec: "down",
      expected: { kind: "switch", type: "failback", from: "secondary", to: "primary" },
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
      s: { mode: "pinned", active: "secondary" },
      p: "up",
      sec: "up",
      expected: { kind: "suppressed", type: "failback", to: "primary", mode: "pinned" },
    },
    {
      why: "holds a failover within holdDown of the last switch",
      s: { lastSwitchAt: NOW - 299_999 },
      p: "down",
      sec: "up",
      expected: { kind: "held", type: "failover", to: "secondary", until: NOW + 1 },
    },
    {
      why: "switches once holdDown has passed",
      s: { lastSwitchAt: NOW - 300_000 },
      p: "down",
      sec: "up",
      expected: { kind: "switch", type: "failover", from: "primary", to: "secondary" },
    },
    {
      why: "holds a fail-back within holdDown",
      s: { active: "secondary", lastSwitchAt: NOW - 10_000 },
      p: "up",
      sec: "up",
      expected: { kind: "held", type: "failback", to: "primary", until: NOW + 290_000 },
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
