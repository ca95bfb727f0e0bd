/** An in-process `DnsProvider` for the demo and tests, with call counters and injectable faults. */
import { DnsError } from "./errors.ts";
import { type DnsProvider, type RouterChange, type RouterRecord, routerType } from "./provider.ts";

/** A DNS provider held in memory. */
export class MemoryDnsProvider implements DnsProvider {
  readonly name: string;
  readonly records = new Map<string, RouterRecord>();
  readonly calls = { read: 0, write: 0 };
  /** When set, every call throws this error (a provider outage). */
  fault: DnsError | null = null;

  constructor(name = "memory") {
    this.name = name;
  }

  async readRouters(names: readonly string[]): Promise<Map<string, RouterRecord | null>> {
    this.calls.read++;
    if (this.fault) throw this.fault;
    return new Map(names.map((name) => [name, this.records.get(name) ?? null]));
  }

  async writeRouters(changes: readonly RouterChange[]): Promise<void> {
    this.calls.write++;
    if (this.fault) throw this.fault;
    for (const change of changes) {
      const existing = this.records.get(change.name);
      const type = routerType(change.target);
      if (existing && existing.type !== type && (type === "CNAME" || existing.type === "CNAME")) {
        throw new DnsError(
          this.name,
          `Cannot write ${type} "${change.name}": a ${existing.type} record is there`,
          {
            retryable: false,
          },
        );
      }
    }
    for (const change of changes)
      this.records.set(change.name, { ...change, type: routerType(change.target) });
  }
}
