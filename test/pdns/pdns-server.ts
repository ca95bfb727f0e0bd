/** Starts a real PowerDNS Authoritative server on loopback (sqlite3 backend, API on), for end-to-end tests. */
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import Database from "better-sqlite3";
import { freePort as freeTcpPort } from "../support/ports.ts";

/** What to install when pdns_server is not on the PATH. */
export const PDNS_INSTALL = "apt-get install pdns-server pdns-backend-sqlite3";

/** Where the sqlite3 backend's schema lies, relative to the install prefix of the pdns_server found. */
function schemaCandidates(binary: string): string[] {
  const prefix = resolve(dirname(realpathSync(binary)), "..");
  return [
    join(prefix, "share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"),
    join(prefix, "share/doc/pdns-backend-sqlite3/schema.sqlite3.sql"),
  ];
}

/** A running pdns_server. */
export interface PdnsServer {
  apiBase: string;
  apiKey: string;
  dnsPort: number;
  stop(): Promise<void>;
}

async function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    socket.once("error", () => resolve(false));
    socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)));
  });
}

/** Starts pdns_server with a fresh sqlite database in a temp dir; resolves once its API answers. */
export async function startPdns(binary: string, options: { dnssec?: boolean } = {}): Promise<PdnsServer> {
  const dir = mkdtempSync(join(tmpdir(), "hm-pdns-"));
  const schemas = schemaCandidates(binary);
  const schema = schemas.find((path) => existsSync(path));
  if (!schema)
    throw new Error(`Cannot find the PowerDNS sqlite3 schema in ${schemas.join(", ")}: ${PDNS_INSTALL}`);
  const dbPath = join(dir, "pdns.sqlite3");
  const db = new Database(dbPath);
  db.exec(readFileSync(schema, "utf8"));
  db.close();
  let dnsPort = await freeTcpPort();
  while (!(await udpFree(dnsPort))) dnsPort = await freeTcpPort();
  const webPort = await freeTcpPort();
  const apiKey = crypto.randomUUID();
  const args = [
    "--no-config",
    "--daemon=no",
    "--guardian=no",
    "--disable-syslog",
    "--loglevel=4",
    "--launch=gsqlite3",
    `--gsqlite3-database=${dbPath}`,
    // Signing needs the backend's key tables switched on (a DNSSEC test's child zone).
    ...(options.dnssec ? ["--gsqlite3-dnssec=yes"] : []),
    "--local-address=127.0.0.1",
    `--local-port=${dnsPort}`,
    "--webserver=yes",
    "--webserver-address=127.0.0.1",
    `--webserver-port=${webPort}`,
    "--webserver-allow-from=127.0.0.0/8",
    "--api=yes",
    `--api-key=${apiKey}`,
    `--socket-dir=${dir}`,
    `--config-dir=${dir}`,
    // No caches: the test reads the authoritative answer right after the API write.
    "--cache-ttl=0",
    "--query-cache-ttl=0",
    "--negquery-cache-ttl=0",
  ];
  if (process.getuid?.() === 0) args.push("--setuid=root", "--setgid=root");
  const child: ChildProcess = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    log += chunk.toString();
  });
  const apiBase = `http://127.0.0.1:${webPort}/api/v1`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    const ok = await fetch(`${apiBase}/servers/localhost`, { headers: { "x-api-key": apiKey } }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { apiBase, apiKey, dnsPort, stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`pdns_server did not start:\n${log.slice(-2000)}`);
}

/** Starts pdns_server with one empty native zone (NS `ns1.ZONE.`) created through its API. */
export async function startPdnsWithZone(binary: string, zone: string): Promise<PdnsServer> {
  const pdns = await startPdns(binary);
  const created = await fetch(`${pdns.apiBase}/servers/localhost/zones`, {
    method: "POST",
    headers: { "x-api-key": pdns.apiKey, "content-type": "application/json" },
    body: JSON.stringify({ name: `${zone}.`, kind: "Native", nameservers: [`ns1.${zone}.`] }),
  });
  if (created.status !== 201) {
    await pdns.stop();
    throw new Error(
      `Cannot create zone "${zone}" on pdns_server: HTTP ${created.status} ${await created.text()}`,
    );
  }
  return pdns;
}

/** Polls `test` every 20 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until(
  what: string,
  test: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
