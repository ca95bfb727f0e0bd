/**
 * The steps of one provider round after the read: compare what is served with what is desired, isolate
 * refused routers, and verify what was written — each one a row update and, where it matters, an event.
 */
import type { NewEvent } from "../store/store.ts";
import type { RouterChange, RouterRecord } from "./provider.ts";
import type { ReadScope } from "./read-scope.ts";
import type { DesiredTarget } from "./reconciler.ts";
import { describeServed, judge, ownPart, servedAsWritten } from "./router-compare.ts";
import type { RouterRows } from "./router-rows.ts";
import type { WriteOutcome } from "./router-write.ts";

/** What the steps of one round share. */
export interface StepContext {
  provider: string;
  now: number;
  rows: RouterRows;
  scope: ReadScope;
  events: NewEvent[];
  touched: Set<string>;
}

/** Judges what the provider serves for each target: in sync, a conflict, or a change to write. */
export function compareRouters(
  ctx: StepContext,
  desired: readonly DesiredTarget[],
  seen: Map<string, RouterRecord | null>,
): RouterChange[] {
  const { now, provider: name, events, touched } = ctx;
  const changes: RouterChange[] = [];
  for (const d of desired) {
    const ttl = d.ttl[name] ?? 60;
    const before = ctx.rows.get(d.router);
    const verdict = judge(name, d.router, seen.get(d.router) ?? null, { target: d.target, ttl });
    if (verdict.kind === "conflict") {
      const message = verdict.message;
      const event: NewEvent = { at: now, type: "dns.error", service: d.service, provider: name, message };
      ctx.rows.reportOnce(d.router, message, event, events);
      ctx.rows.set(d.router, { state: "error", error: message }, touched);
      continue;
    }
    if (verdict.kind === "in-sync") {
      ctx.rows.set(d.router, { state: "in-sync", target: verdict.served.target }, touched);
      ctx.scope.confirm(d);
      continue;
    }
    const record = verdict.served;
    const refused = ctx.rows.refused.get(d.router);
    if (refused && refused.target === d.target && refused.ttl === ttl) {
      ctx.rows.set(d.router, { target: record?.target ?? null }, touched);
      continue;
    }
    ctx.rows.refused.delete(d.router);
    // Drift is a confirmed target served no more; a TTL-only difference (a config change) is rewritten quietly.
    const confirmed = before.state === "in-sync" && before.target === d.target;
    if (confirmed && (record?.target !== d.target || record.proxied === true)) {
      events.push({
        at: now,
        type: "dns.drift",
        service: d.service,
        provider: name,
        message: `Drift on ${name}: "${d.router}" serves ${describeServed(record)}, putting back "${d.target}" TTL ${ttl}`,
      });
    }
    ctx.rows.set(d.router, { target: record?.target ?? null }, touched);
    changes.push({ name: d.router, target: d.target, ttl });
  }
  return changes;
}

/** Routers the provider refused for good: an error for each of them alone. */
export function refuseRouters(
  ctx: StepContext,
  outcome: WriteOutcome,
  desired: readonly DesiredTarget[],
): void {
  const { provider: name, events, touched } = ctx;
  for (const [router, fault] of outcome.refused) {
    const change = desired.find((x) => x.router === router);
    if (!change) continue;
    ctx.rows.refused.set(router, { target: change.target, ttl: change.ttl[name] ?? 60 });
    const reason = `${fault.message}: this router is not written again until its target or TTL changes or an operator retries; the other routers go on`;
    const at = ctx.now;
    const event: NewEvent = {
      at,
      type: "dns.error",
      service: change.service,
      provider: name,
      message: `${name}: ${reason}`,
    };
    ctx.rows.reportOnce(router, fault.message, event, events);
    ctx.rows.set(router, { state: "error", error: reason }, touched);
  }
}

/** Marks each written router in sync when it is served as written, else pending with what is served. */
export function verifyRouters(
  ctx: StepContext,
  changes: readonly RouterChange[],
  verified: Map<string, RouterRecord | null>,
  desired: readonly DesiredTarget[],
): void {
  const { now, provider: name, events, touched } = ctx;
  for (const change of changes) {
    const record = ownPart(verified.get(change.name) ?? null, change.target);
    const wanted = desired.find((d) => d.router === change.name);
    const service = wanted?.service;
    if (record && servedAsWritten(record, change)) {
      const event: NewEvent = {
        at: now,
        type: "dns.switched",
        provider: name,
        message: `Switched "${change.name}" on ${name} to "${change.target}" (TTL ${change.ttl})`,
      };
      if (service) event.service = service;
      events.push(event);
      ctx.rows.set(change.name, { state: "in-sync", target: record.target }, touched);
      if (wanted?.target === change.target && (wanted.ttl[name] ?? 60) === change.ttl)
        ctx.scope.confirm(wanted);
    } else {
      ctx.rows.set(
        change.name,
        {
          state: "pending",
          target: record?.target ?? null,
          error: `Wrote "${change.target}" to ${name} but read back ${describeServed(record)}; retrying`,
        },
        touched,
      );
    }
  }
}
