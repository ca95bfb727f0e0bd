/** The leader's provider summaries: compact encoding, writes only on change, fenced, and what a follower shows. */
import { describe, expect, it } from "vitest";
import { Reconciler } from "../../coordinator/dns/reconciler.ts";
import { MemoryEtcd } from "../../coordinator/ha/etcd-memory.ts";
import type { Fence } from "../../coordinator/ha/leadership.ts";
import { ProviderBoard } from "../../coordinator/ha/provider-board.ts";
import { decodeSummary, encodeSummary, expand, summarize } from "../../coordinator/ha/provider-summary.ts";
import type { ProviderRouterRow } from "../../coordinator/store/store.ts";
import { ManualClock } from "../../shared/clock.ts";
import { silentLogger } from "../../shared/log.ts";

const paths = (router: string) => ({
  primary: `${router}.p.example.net.`,
  secondary: `${router}.s.example.net.`,
});
const routers = (n: number) => Array.from({ length: n }, (_, i) => `svc-${i}.example.com`);
const desired = (names: string[]) =>
  names.map((router) => ({ service: router, router, target: "", ttl: {} }));
const row = (router: string, patch: Partial<ProviderRouterRow> = {}): ProviderRouterRow => ({
  provider: "desec",
  router,
  state: "in-sync",
  target: paths(router).primary,
  updatedAt: 1000,
  ...patch,
});
const fence = (revision: number): Fence => ({
  revision,
  deadline: Number.MAX_SAFE_INTEGER,
  signal: new AbortController().signal,
});

describe("provider summaries", () => {
  it("expands back to the leader's rows: state, target (path or literal), error", () => {
    const names = routers(6);
    const rows = [
      row(names[0] ?? ""),
      row(names[1] ?? ""),
      row(names[2] ?? "", { target: paths(names[2] ?? "").secondary, updatedAt: 2000 }),
      row(names[3] ?? "", { state: "pending", updatedAt: 3000 }),
      row(names[4] ?? "", { state: "error", target: "odd.example.org.", error: 'Cannot switch "x": 422' }),
      row(names[5] ?? "", { state: "pending", target: null }),
    ];
    const summary = decodeSummary(
      encodeSummary(summarize(rows, paths, { provider: "desec", leader: "ca", writtenAt: 5000 })),
    );
    expect(summary).not.toBeNull();
    const back = expand(summary ?? ({} as never), desired(names), paths); // checked non-null just above
    expect(back).toEqual(rows);
  });

  it("stays a few hundred bytes for 10,000 routers in sync, and well under etcd's request limit half-way through a mass failover", () => {
    const names = routers(10_000);
    const steady = encodeSummary(
      summarize(
        names.map((r) => row(r)),
        paths,
        { provider: "desec", leader: "ca", writtenAt: 1 },
      ),
    );
    expect(steady.length).toBeLessThan(400);
    const half = encodeSummary(
      summarize(
        names.map((r, i) => (i % 2 ? row(r, { state: "pending" }) : row(r, { target: paths(r).secondary }))),
        paths,
        { provider: "desec", leader: "ca", writtenAt: 1 },
      ),
    );
    expect(half.length).toBeLessThan(200_000);
  });

  it("is written only when its content changes, and only by the leader named by the fence", async () => {
    const clock = new ManualClock();
    const etcd = new MemoryEtcd(clock);
    const leader = await etcd.txn({ compare: [], success: [{ put: { key: "/hm/leader", value: "{}" } }] });
    const board = new ProviderBoard(etcd, { prefix: "/hm/", self: "ca", targets: paths });
    const names = routers(3);
    const rows = names.map((r) => row(r));
    expect(await board.publish(rows, fence(leader.revision), 1)).toBe(1);
    // Times move (drift checks, rounds) without a change of content: no write.
    expect(
      await board.publish(
        rows.map((r) => ({ ...r, updatedAt: 9999 })),
        fence(leader.revision),
        2,
      ),
    ).toBe(0);
    const switched = rows.map((r) => ({ ...r, target: paths(r.router).secondary }));
    expect(await board.publish(switched, fence(leader.revision), 3)).toBe(1);
    // A deposed leader (an older fence) writes nothing.
    const old = new ProviderBoard(etcd, { prefix: "/hm/", self: "cb", targets: paths });
    expect(await old.publish(rows, fence(leader.revision - 1), 4)).toBe(0);
    const follower = new ProviderBoard(etcd, { prefix: "/hm/", self: "cc", targets: paths });
    await follower.load();
    expect(follower.rows("desec", desired(names))?.map((r) => r.target)).toEqual(
      names.map((r) => paths(r).secondary),
    );
    expect(follower.rows("cloudflare", desired(names))).toBeNull();
  });

  it("a follower's reconciler shows the followed rows; a leader's its own", () => {
    let leads = false;
    const reconciler = new Reconciler(
      [{ name: "desec", readRouters: async () => new Map(), writeRouters: async () => {} }],
      {
        clock: new ManualClock(),
        log: silentLogger,
        timing: () => ({ timeoutMs: 1000, maxBackoffMs: 1000 }),
        persist: async () => {},
        active: () => leads,
      },
    );
    const names = routers(1);
    reconciler.setDesired(desired(names).map((d) => ({ ...d, target: paths(d.router).secondary })));
    reconciler.follow(() => [row(names[0] ?? "", { target: "from-leader." })]);
    expect(reconciler.states().map((r) => r.target)).toEqual(["from-leader."]);
    leads = true;
    expect(reconciler.states().map((r) => r.target)).not.toEqual(["from-leader."]);
    reconciler.stop();
  });
});
