/**
 * etcd v3 over its JSON gateway (`/v3/...`) with the injected `fetch`: runs on Node, Deno and workerd.
 * Keys and values are base64 on the wire; 64-bit numbers are JSON strings.
 */

import type { Clock } from "../../shared/clock.ts";
import {
  type CallOptions,
  type Compare,
  type Etcd,
  EtcdError,
  type KeyValue,
  type Txn,
  type TxnOp,
} from "./etcd.ts";

/** How to reach etcd. */
export interface EtcdClientOptions {
  /** Client URLs of the members, e.g. `http://127.0.0.1:2379`; tried in order, the last one that answered first. */
  endpoints: string[];
  fetch: typeof fetch;
  clock: Clock;
  /** Per-request timeout; defaults to 2 s. */
  timeoutMs?: number;
  /** etcd user and password (token auth through `/v3/auth/authenticate`). */
  auth?: { username: string; password: string };
}

// gRPC codes etcd answers that another attempt may fix: cancelled, unknown, deadline, exhausted, aborted, unavailable.
const RETRYABLE_CODES = new Set([1, 2, 4, 8, 10, 14]);
const UNAUTHENTICATED = 16;

/** Builds an etcd client over the JSON gateway. */
export function etcdClient(options: EtcdClientOptions): Etcd {
  if (options.endpoints.length === 0) throw new Error("Cannot build an etcd client: no endpoints configured");
  const call = gatewayCaller(options);
  return {
    async range(key, opts = {}) {
      const body: Record<string, unknown> = { key: encode(key) };
      if (opts.prefix) body.range_end = encodeBytes(prefixEnd(key));
      const answer = await call("/v3/kv/range", body, opts);
      return { kvs: kvsOf(answer.kvs), revision: revisionOf(answer) };
    },
    async put(key, value, opts = {}) {
      const body: Record<string, unknown> = { key: encode(key), value: encode(value) };
      if (opts.lease) body.lease = opts.lease;
      return { revision: revisionOf(await call("/v3/kv/put", body, opts)) };
    },
    async txn(txn, opts = {}) {
      const answer = await call("/v3/kv/txn", txnBody(txn), opts);
      const responses = Array.isArray(answer.responses) ? answer.responses : [];
      return {
        succeeded: answer.succeeded === true,
        revision: revisionOf(answer),
        results: responses.map((r) => ({ kvs: kvsOf(record(record(r).response_range).kvs) })),
      };
    },
    async leaseGrant(ttlSeconds, opts = {}) {
      const answer = await call("/v3/lease/grant", { TTL: String(Math.ceil(ttlSeconds)) }, opts);
      return { id: String(answer.ID), ttlSeconds: Number(answer.TTL ?? 0) };
    },
    async leaseKeepAlive(id, opts = {}) {
      // The gateway streams keepalive answers; one request gets one `{result}` message.
      const answer = record((await call("/v3/lease/keepalive", { ID: id }, opts)).result);
      return { ttlSeconds: Number(answer.TTL ?? 0) };
    },
    async leaseRevoke(id, opts = {}) {
      try {
        await call("/v3/lease/revoke", { ID: id }, opts);
      } catch (error) {
        if (!(error instanceof EtcdError && error.code === 5)) throw error; // 5: the lease is already gone
      }
    },
  };
}

type Answer = Record<string, unknown>;
type Caller = (path: string, body: Answer, options: CallOptions) => Promise<Answer>;

// One request per endpoint at most: a member that does not answer sends the call to the next one.
// Retrying a write elsewhere is safe here because every write healthmesh makes is a guarded txn.
function gatewayCaller(options: EtcdClientOptions): Caller {
  const endpoints = options.endpoints.map((e) => e.replace(/\/+$/, ""));
  let current = 0;
  let token: string | undefined;
  const post = async (endpoint: string, path: string, body: Answer, signal?: AbortSignal) => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token) headers.authorization = token;
    return request(options, `${endpoint}${path}`, { body: JSON.stringify(body), headers, signal });
  };
  const authenticate = async (endpoint: string, signal?: AbortSignal) => {
    if (!options.auth) return;
    const { username: name, password } = options.auth;
    token = undefined;
    token = String((await post(endpoint, "/v3/auth/authenticate", { name, password }, signal)).token ?? "");
  };
  return async (path, body, callOptions) => {
    let lastError: unknown;
    for (let attempt = 0; attempt < endpoints.length; attempt++) {
      const index = (current + attempt) % endpoints.length;
      const endpoint = endpoints[index] ?? "";
      try {
        if (options.auth && token === undefined) await authenticate(endpoint, callOptions.signal);
        const answer = await post(endpoint, path, body, callOptions.signal).catch(async (error: unknown) => {
          if (!(error instanceof EtcdError && error.code === UNAUTHENTICATED && options.auth)) throw error;
          await authenticate(endpoint, callOptions.signal);
          return post(endpoint, path, body, callOptions.signal);
        });
        current = index;
        return answer;
      } catch (error) {
        lastError = error;
        if (!(error instanceof EtcdError && error.retryable) || callOptions.signal?.aborted) throw error;
      }
    }
    throw lastError;
  };
}

async function request(
  options: EtcdClientOptions,
  url: string,
  init: { body: string; headers: Record<string, string>; signal?: AbortSignal | undefined },
): Promise<Answer> {
  const controller = new AbortController();
  const timeoutMs = options.timeoutMs ?? 2000;
  const cancelTimer = options.clock.setTimer(() => controller.abort(), timeoutMs);
  const onAbort = () => controller.abort();
  init.signal?.addEventListener("abort", onAbort, { once: true });
  if (init.signal?.aborted) controller.abort();
  try {
    const response = await options.fetch(url, { method: "POST", ...init, signal: controller.signal });
    const text = await response.text();
    const answer = parseAnswer(text);
    if (!response.ok || typeof answer.code === "number") throw answerError(url, response.status, answer);
    return answer;
  } catch (error) {
    if (error instanceof EtcdError) throw error;
    const why = init.signal?.aborted
      ? "aborted"
      : controller.signal.aborted
        ? `no answer in ${timeoutMs} ms`
        : String(error);
    throw new EtcdError(`Cannot reach etcd at "${url}": ${why}`, { retryable: true, cause: error });
  } finally {
    cancelTimer();
    init.signal?.removeEventListener("abort", onAbort);
  }
}

function parseAnswer(text: string): Answer {
  try {
    return record(JSON.parse(text));
  } catch {
    return { message: text.slice(0, 200) };
  }
}

function answerError(url: string, status: number, answer: Answer): EtcdError {
  const code = typeof answer.code === "number" ? answer.code : undefined;
  const message = String(answer.message ?? answer.error ?? `HTTP ${status}`);
  const retryable = code === undefined ? status >= 500 : RETRYABLE_CODES.has(code);
  return new EtcdError(
    `etcd refused "${url}": ${message}`,
    code === undefined ? { retryable } : { retryable, code },
  );
}

function txnBody(txn: Txn): Answer {
  return {
    compare: txn.compare.map(compareBody),
    success: txn.success.map(opBody),
    failure: (txn.failure ?? []).map(opBody),
  };
}

const TARGETS = { create: "CREATE", mod: "MOD", version: "VERSION", value: "VALUE" } as const;
const FIELDS = {
  create: "create_revision",
  mod: "mod_revision",
  version: "version",
  value: "value",
} as const;
const RESULTS = { equal: "EQUAL", "not-equal": "NOT_EQUAL", greater: "GREATER", less: "LESS" } as const;

function compareBody(compare: Compare): Answer {
  const value = compare.target === "value" ? encode(String(compare.value)) : String(compare.value);
  return {
    key: encode(compare.key),
    target: TARGETS[compare.target],
    result: RESULTS[compare.result ?? "equal"],
    [FIELDS[compare.target]]: value,
  };
}

function opBody(op: TxnOp): Answer {
  if ("put" in op) {
    const put: Answer = { key: encode(op.put.key), value: encode(op.put.value) };
    if (op.put.lease) put.lease = op.put.lease;
    return { request_put: put };
  }
  const target = "range" in op ? op.range : op.delete;
  const body: Answer = { key: encode(target.key) };
  if (target.prefix) body.range_end = encodeBytes(prefixEnd(target.key));
  return "range" in op ? { request_range: body } : { request_delete_range: body };
}

function kvsOf(raw: unknown): KeyValue[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((item) => {
    const kv = record(item);
    return {
      key: decode(String(kv.key ?? "")),
      value: decode(String(kv.value ?? "")),
      createRevision: Number(kv.create_revision ?? 0),
      modRevision: Number(kv.mod_revision ?? 0),
      version: Number(kv.version ?? 0),
      lease: String(kv.lease ?? "0"),
    };
  });
}

function revisionOf(answer: Answer): number {
  return Number(record(answer.header).revision ?? 0);
}

function record(value: unknown): Answer {
  // Every gateway message is a JSON object; anything else is treated as an empty one.
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Answer) : {};
}

function encode(text: string): string {
  return encodeBytes(new TextEncoder().encode(text));
}

function encodeBytes(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function decode(base64: string): string {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder().decode(bytes);
}

/** etcd's `range_end` for a prefix: the prefix with its last byte below 0xff incremented. */
function prefixEnd(prefix: string): Uint8Array {
  const bytes = new TextEncoder().encode(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    const byte = bytes[i] ?? 0xff;
    if (byte < 0xff) {
      const end = bytes.slice(0, i + 1);
      end[i] = byte + 1;
      return end;
    }
  }
  return new Uint8Array([0]);
}
