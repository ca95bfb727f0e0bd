/**
 * A real Prometheus Alertmanager for tests: one process on a free loopback port with a temporary
 * config and storage, gossip off (`--cluster.listen-address=`), and a reader of its API v2.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../support/ports.ts";

/** One alert as `GET /api/v2/alerts` lists it (the fields the tests read). */
export interface ListedAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

/** A running Alertmanager. */
export interface RunningAlertmanager {
  url: string;
  /** The alerts it lists as not yet resolved. */
  alerts(): Promise<ListedAlert[]>;
  close(): Promise<void>;
}

/** A config that routes everything to one receiver: a webhook (with resolved notices) when given. */
function configText(webhookUrl: string | undefined): string {
  const receiver = webhookUrl
    ? `  - name: sink\n    webhook_configs:\n      - { url: "${webhookUrl}", send_resolved: true }\n`
    : "  - name: sink\n";
  return `route:\n  receiver: sink\n  group_by: [alertname, service]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n${receiver}`;
}

/** Starts Alertmanager from `binary` and resolves once it answers `/-/ready`. */
export async function startAlertmanager(
  binary: string,
  options: { webhookUrl?: string } = {},
): Promise<RunningAlertmanager> {
  const dir = mkdtempSync(join(tmpdir(), "hm-am-"));
  writeFileSync(join(dir, "alertmanager.yml"), configText(options.webhookUrl));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${join(dir, "alertmanager.yml")}`,
      `--storage.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const close = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await close();
      throw new Error(`Alertmanager exited with ${child.exitCode}: ${stderr}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`Alertmanager did not become ready on ${url}: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    async alerts() {
      const response = await fetch(`${url}/api/v2/alerts`);
      if (!response.ok) throw new Error(`GET /api/v2/alerts answered ${response.status}`);
      return (await response.json()) as ListedAlert[]; // Alertmanager's gettableAlerts
    },
    close,
  };
}
