/**
 * The alert outbox survives a crash: an alert queued (or only stored as an event) before the
 * coordinator dies is delivered after it restarts on the same data dir, exactly once.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { startAlerts } from "../../coordinator/alerts/alerts.ts";
import { SqliteOutbox } from "../../coordinator/alerts/outbox-sqlite.ts";
import { startCoordinator } from "../../coordinator/node.ts";
import { SqliteStore } from "../../coordinator/store/sqlite.ts";
import { ManualClock } from "../../shared/clock.ts";
import { configFromObject } from "../../shared/config.ts";
import { silentLogger } from "../../shared/log.ts";
import { configObject } from "../helpers.ts";
import { type Receiver, recordingFetch, startReceiver } from "./receivers.ts";

const BIN = new URL("../../bin/healthmesh.mjs", import.meta.url).pathname;
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "hm-alerts-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const objectConfig = (alerts: Record<string, unknown>[]) => ({ ...configObject(), alerts });

describe("alert outbox in SQLite", () => {
  it("resumes after the dispatcher is dropped mid-groupWait and mid-retry, and sends each event once", async () => {
    const dir = tempDir();
    const config = configFromObject(objectConfig([{ type: "webhook", urlEnv: "HOOK", groupWait: "10s" }]));
    const clock = new ManualClock();
    const env = (name: string) => (name === "HOOK" ? "http://hook.test/a" : undefined);
    // First life: the first message meets a dead receiver; a second group is still waiting when it dies.
    const down = recordingFetch(() => new Response("down", { status: 503 }));
    let store = new SqliteStore(dir);
    let alerts = await startAlerts({
      config,
      env,
      outbox: new SqliteOutbox(store.db),
      store,
      fetch: down.fetch,
      clock,
      log: silentLogger,
    });
    const commit = async (type: string, service: string) =>
      alerts.enqueue(
        await store.commit({
          events: [{ at: clock.now(), type, service, message: `${type} of ${service}` }],
        }),
      );
    await commit("failover", "web");
    await clock.advance(10_000);
    await alerts.dispatcher.idle();
    await commit("pause", "api");
    await clock.advance(5_000);
    await alerts.dispatcher.idle();
    expect(down.calls.length).toBeGreaterThanOrEqual(1);
    // The failover is an outbox entry still pending; the pause is only an event past the cursor.
    const queued = await new SqliteOutbox(store.db).list();
    expect(queued.map((e) => [e.state, e.message.lines.map((l) => l.type)])).toEqual([
      ["pending", ["failover"]],
    ]);
    alerts.stop(); // dropped without draining
    await store.close();
    // Second life on the same data dir: both are delivered, once each.
    const up = recordingFetch();
    store = new SqliteStore(dir);
    alerts = await startAlerts({
      config,
      env,
      outbox: new SqliteOutbox(store.db),
      store,
      fetch: up.fetch,
      clock,
      log: silentLogger,
    });
    await clock.advance(10_000);
    await alerts.dispatcher.idle();
    const lines = up.calls.flatMap((c) =>
      (JSON.parse(c.body) as { data: { lines: { type: string }[] } }).data.lines.map((l) => l.type),
    );
    expect(lines.sort()).toEqual(["failover", "pause"]);
    await clock.advance(600_000);
    await alerts.dispatcher.idle();
    expect(up.calls).toHaveLength(2);
    alerts.stop();
    await store.close();
  });

  it("delivers an alert queued before a kill -9 of the coordinator process after its restart", async () => {
    const receiver: Receiver = await startReceiver("webhook");
    cleanups.push(() => receiver.close());
    receiver.fail(...Array.from({ length: 100 }, () => "500" as const));
    const dir = tempDir();
    const file = join(dir, "healthmesh.yaml");
    const alert = { type: "webhook", urlEnv: "HOOK", secretEnv: "WHSEC", groupWait: "0s" };
    writeFileSync(file, stringify(objectConfig([alert])));
    const env: Record<string, string> = {
      HEALTHMESH_API_TOKEN: "t0ken",
      SECRET_P1: "s1",
      SECRET_P2: "s2",
      SECRET_P3: "s3",
      HOOK: receiver.target,
      WHSEC: `whsec_${btoa("kill-test-secret-of-24-bytes")}`,
    };
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, "coordinator", "--config", file, "--port", "0", "--data", join(dir, "data")],
      {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    cleanups.push(() => void child.kill("SIGKILL"));
    let output = "";
    child.stderr?.on("data", (chunk) => (output += chunk));
    const url = await until(
      "the coordinator to listen",
      () => /listening on (http:\/\/\S+)/.exec(output)?.[1],
    );
    const paused = await fetch(`${url}/v1/services/web/pause`, {
      method: "POST",
      headers: { authorization: "Bearer t0ken", "content-type": "application/json" },
      body: JSON.stringify({ reason: "kill-test maintenance" }), // the actor is the token's name, "operator"
    });
    expect(paused.status).toBe(200);
    // Look into the child's database (WAL lets a reader in) until the pause alert sits in the outbox.
    const peek = new Database(join(dir, "data", "healthmesh.db"), { readonly: true });
    const queued = () => {
      const row = peek
        .prepare(
          "SELECT count(*) AS n FROM alert_outbox WHERE state = 'pending' AND message LIKE '%kill-test%'",
        )
        .get() as { n: number }; // one aggregate column
      return row.n === 1 && receiver.hits >= 1 ? true : undefined;
    };
    await until("the pause alert to be queued while deliveries fail", queued);
    peek.close();
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    expect(receiver.accepted).toHaveLength(0);

    receiver.heal();
    const running = await startCoordinator({
      config: configFromObject(objectConfig([alert])),
      dataDir: join(dir, "data"),
      host: "127.0.0.1",
      port: 0,
      env,
      log: silentLogger,
    });
    cleanups.push(() => running.close());
    const pauseMessages = () => receiver.accepted.filter((r) => r.raw.includes('"type":"pause"'));
    await until("the pause alert after the restart", () => (pauseMessages().length > 0 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(pauseMessages()).toHaveLength(1);
    expect(pauseMessages()[0]?.raw).toContain("kill-test");
  });
});
