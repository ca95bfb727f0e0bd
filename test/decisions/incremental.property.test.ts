/**
 * The coordinator decides incrementally (cached counted votes, a staleness heap, dirty services):
 * this property says it agrees with a round recomputed from scratch. Random configs, random reports
 * (healthy or not, any subset of results, results older than the last one), random clock steps
 * (across staleness and silence limits), ticks and operator verbs go to a real `Coordinator` and to a
 * from-scratch model built here from the pure rules alone (`shared/quorum.ts`, `planService`,
 * `newlySilent`): every vote counted again from the tracks, every service in scope decided. After
 * every step both must hold the same service states, the same verdicts and tallies, and have
 * recorded the same decision events, messages included.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Coordinator } from "../../coordinator/coordinator.ts";
import { MemoryDnsProvider } from "../../coordinator/dns/memory.ts";
import { initialState, type RoundVerdicts, type ServiceState } from "../../coordinator/engine.ts";
import { planMode, planPin } from "../../coordinator/operator-verbs.ts";
import { newlySilent, planService, sameState } from "../../coordinator/round.ts";
import { ServiceBook } from "../../coordinator/service-book.ts";
import { MemoryStore } from "../../coordinator/store/memory.ts";
import type { AuditEvent, NewEvent, ProbeRow } from "../../coordinator/store/store.ts";
import type { VoteBook } from "../../coordinator/votes.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import type { Config, ServiceConfig } from "../../shared/config-schema.ts";
import { silentLogger } from "../../shared/log.ts";
import type { Endpoint, Report } from "../../shared/protocol.ts";
import {
  applyResult,
  type CountedVote,
  type EndpointTrack,
  effectiveVote,
  emptyTrack,
  newestPerEndpoint,
  olderThanFolded,
  verdictOf,
} from "../../shared/quorum.ts";

const SERVICES = ["a", "b", "c"];
const ENDPOINTS = ["primary", "secondary"] as const;

function meshConfig(shape: {
  probes: number;
  providers: number;
  quorum: "majority" | "providers";
  services: { failAfter: number; recoverAfter: number; holdDown: string; autoFailback: boolean }[];
}): Config {
  return configFromObject({
    zone: "example.com",
    providers: { memory: {} },
    services: shape.services.map((s, i) => ({
      name: SERVICES[i],
      router: `${SERVICES[i]}-router`,
      primary: {
        target: `${SERVICES[i]}-1.example.net.`,
        check: { url: `https://${SERVICES[i]}-1.example.net/` },
      },
      secondary: {
        target: `${SERVICES[i]}-2.example.net.`,
        check: { url: `https://${SERVICES[i]}-2.example.net/` },
      },
      ...s,
    })),
    probes: {
      interval: "10s",
      quorum: shape.quorum,
      members: Array.from({ length: shape.probes }, (_, i) => ({
        id: `p${i}`,
        provider: `edge${i % shape.providers}`,
        secretEnv: `S${i}`,
      })),
    },
  });
}

/** The decision rules applied from scratch: every vote counted again, every service in scope decided. */
class Scratch {
  readonly tracks = new Map<string, EndpointTrack>();
  readonly probes = new Map<string, ProbeRow>();
  readonly book: ServiceBook;
  readonly events: NewEvent[] = [];

  constructor(
    readonly config: Config,
    readonly startedAt: number,
  ) {
    this.book = new ServiceBook(config, []);
    this.book.load([]);
  }

  verdicts(svc: ServiceConfig, now: number): RoundVerdicts & { counted: Record<Endpoint, CountedVote[]> } {
    const count = (endpoint: Endpoint): CountedVote[] =>
      this.config.probes.members.map((m) => {
        const row = this.probes.get(m.id);
        const seen = { lastSeen: row?.lastSeen ?? null, healthy: row?.healthy ?? true };
        const track = this.tracks.get(`${m.id}|${svc.name}|${endpoint}`);
        return {
          probe: m.id,
          provider: m.provider,
          vote: effectiveVote(track, seen, { now, intervalMs: this.config.probes.interval }),
        };
      });
    const counted = { primary: count("primary"), secondary: count("secondary") };
    return {
      primary: verdictOf(counted.primary, this.config.probes.quorum),
      secondary: verdictOf(counted.secondary, this.config.probes.quorum),
      counted,
    };
  }

  report(report: Report, now: number): void {
    const known = this.probes.get(report.probe);
    if (known?.silent)
      this.events.push({
        at: now,
        type: "probe.back",
        message: `Probe "${report.probe}" is reporting again`,
      });
    this.probes.set(report.probe, {
      id: report.probe,
      lastSeen: now,
      healthy: report.healthy,
      silent: false,
    });
    const touched = new Set<string>();
    if (report.healthy) {
      for (const result of newestPerEndpoint(report.results)) {
        const svc = this.config.services.find((s) => s.name === result.service);
        if (!svc) continue;
        const key = `${report.probe}|${result.service}|${result.endpoint}`;
        const previous = this.tracks.get(key);
        if (olderThanFolded(previous, result.checkedAt)) continue;
        this.tracks.set(
          key,
          applyResult(previous ?? emptyTrack(), { ok: result.ok, checkedAt: result.checkedAt }, svc, now),
        );
        touched.add(result.service);
      }
    }
    this.round(now, touched.size > 0 ? touched : null);
  }

  round(now: number, only: Set<string> | null): void {
    if (!only) {
      const silence = newlySilent(this.config.probes.members, (id) => this.probes.get(id), {
        now,
        intervalMs: this.config.probes.interval,
        startedAt: this.startedAt,
      });
      this.events.push(...silence.events);
      for (const row of silence.probes) this.probes.set(row.id, row);
    }
    for (const svc of this.config.services) {
      if (only && !only.has(svc.name)) continue;
      const state = this.book.state(svc.name);
      const plan = planService(svc, state, this.verdicts(svc, now), now);
      this.events.push(...plan.events);
      if (!sameState(plan.next, state)) this.book.set([plan.next]);
    }
  }

  verb(kind: "pause" | "resume" | "pin", name: string, to: Endpoint, now: number): void {
    const votes = {
      verdicts: (svc: ServiceConfig, at: number) => this.verdicts(svc, at),
    } as unknown as VoteBook;
    const plan =
      kind === "pin"
        ? planPin({ services: this.book, votes }, name, to, { actor: "prop" }, now)
        : planMode(this.book, name, kind, { actor: "prop" }, now);
    this.events.push(...(plan.commit.events ?? []));
    this.book.set([plan.next]);
    if (kind === "resume") this.round(now, new Set([name]));
  }
}

const shape = fc.record({
  probes: fc.integer({ min: 1, max: 5 }),
  providers: fc.integer({ min: 1, max: 3 }),
  quorum: fc.constantFrom<"majority" | "providers">("majority", "providers"),
  services: fc.array(
    fc.record({
      failAfter: fc.integer({ min: 1, max: 3 }),
      recoverAfter: fc.integer({ min: 1, max: 3 }),
      holdDown: fc.constantFrom("0s", "20s", "1m"),
      autoFailback: fc.boolean(),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

const step = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("report" as const),
      probe: fc.nat(),
      healthy: fc.constantFrom(true, true, true, true, false),
      results: fc.array(
        fc.record({
          service: fc.nat(),
          endpoint: fc.constantFrom(...ENDPOINTS),
          ok: fc.boolean(),
          age: fc.constantFrom(0, 0, 0, 5_000, 40_000),
        }),
        { maxLength: 6 },
      ),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("wait" as const),
      ms: fc.constantFrom(0, 1_000, 5_000, 10_000, 20_001, 30_000, 30_001, 65_000),
    }),
  },
  {
    // Every probe reports every service: drives services through failovers, holds and fail-backs.
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("round" as const),
      primary: fc.boolean(),
      secondary: fc.constantFrom(true, true, false),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("tick" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("verb" as const),
      verb: fc.constantFrom<"pause" | "resume" | "pin">("pause", "resume", "pin"),
      service: fc.nat(),
      to: fc.constantFrom(...ENDPOINTS),
    }),
  },
);

/** What a decision event says, without the ids and clock formats the store adds. */
function decisionEvents(events: readonly (AuditEvent | NewEvent)[]) {
  return events
    .filter((e) => !e.type.startsWith("dns.") && !e.type.startsWith("coordinator."))
    .map((e) => ({
      type: e.type,
      service: e.service ?? null,
      from: e.from ?? null,
      to: e.to ?? null,
      message: e.message,
    }));
}

describe("incremental decisions", () => {
  it("agree with rounds recomputed from scratch after every step", async () => {
    await fc.assert(
      fc.asyncProperty(shape, fc.array(step, { minLength: 1, maxLength: 80 }), async (mesh, steps) => {
        const config = meshConfig(mesh);
        const clock = new ManualClock(1_700_000_000_000);
        const recorded: AuditEvent[] = [];
        const coordinator = await Coordinator.open({
          config,
          store: new MemoryStore(),
          clock,
          log: silentLogger,
          providers: [new MemoryDnsProvider("memory")],
          random: () => 0.5,
          onEvents: (events) => recorded.push(...events),
        });
        const scratch = new Scratch(config, clock.now());
        const names = config.services.map((s) => s.name);
        let seq = 0;
        try {
          for (const s of steps) {
            const now = clock.now();
            const send = async (report: Report) => {
              await coordinator.acceptReport(report);
              scratch.report(report, now);
            };
            const at = (age: number) => new Date(now - age).toISOString();
            if (s.kind === "report") {
              await send({
                id: `r${++seq}`,
                probe: config.probes.members[s.probe % config.probes.members.length]?.id ?? "p0",
                sentAt: at(0),
                healthy: s.healthy,
                results: s.results.map((r) => ({
                  service: names[r.service % names.length] ?? "a",
                  endpoint: r.endpoint,
                  ok: r.ok,
                  checkedAt: at(r.age),
                })),
              });
            } else if (s.kind === "round") {
              for (const member of config.probes.members)
                await send({
                  id: `r${++seq}`,
                  probe: member.id,
                  sentAt: at(0),
                  healthy: true,
                  results: names.flatMap((service) => [
                    { service, endpoint: "primary" as const, ok: s.primary, checkedAt: at(0) },
                    { service, endpoint: "secondary" as const, ok: s.secondary, checkedAt: at(0) },
                  ]),
                });
            } else if (s.kind === "wait") {
              await clock.advance(s.ms);
            } else if (s.kind === "tick") {
              await coordinator.evaluate();
              scratch.round(now, null);
            } else {
              const name = names[s.service % names.length] ?? "a";
              if (s.verb === "pin") await coordinator.failover(name, s.to, { actor: "prop" });
              else if (s.verb === "pause") await coordinator.pause(name, { actor: "prop" });
              else await coordinator.resume(name, { actor: "prop" });
              scratch.verb(s.verb, name, s.to, now);
            }
            for (const svc of config.services) {
              const mine = coordinator.verdicts(svc.name);
              const theirs = scratch.verdicts(svc, clock.now());
              expect({ primary: mine.primary, secondary: mine.secondary, counted: mine.counted }).toEqual(
                theirs,
              );
              expect(coordinator.service(svc.name)).toEqual({
                ...initialState(svc.name),
                ...scratch.book.state(svc.name),
              } satisfies ServiceState);
            }
            expect(decisionEvents(recorded)).toEqual(decisionEvents(scratch.events));
          }
        } finally {
          coordinator.stop();
        }
      }),
      { numRuns: 400 },
    );
  });
});
