/**
 * Simulated time must stand still while real-time work is pending: WebCrypto (report signatures)
 * answers on the event loop in real time, whatever a ManualClock says. This counts WebCrypto calls in
 * flight (by wrapping `crypto.subtle` once per process) and waits until none is, and the event loop
 * has been quiet for a few turns. For tests and benchmarks only.
 */
let pending = 0;
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  const subtle = crypto.subtle as unknown as Record<string, unknown>; // wrapping methods by name, same signatures
  for (const name of ["sign", "verify", "importKey", "digest"]) {
    const original = subtle[name];
    if (typeof original !== "function") continue;
    subtle[name] = async (...args: unknown[]) => {
      pending++;
      try {
        return await original.apply(crypto.subtle, args);
      } finally {
        pending--;
      }
    };
  }
}

/** Resolves once no WebCrypto call is pending and three event-loop turns passed without one. */
export async function settle(): Promise<void> {
  install();
  for (let quiet = 0; quiet < 3; ) {
    await new Promise((resolve) => setImmediate(resolve));
    quiet = pending > 0 ? 0 : quiet + 1;
  }
}

/** Starts counting WebCrypto calls (call before the first signature you need to wait for). */
export function trackWebCrypto(): void {
  install();
}
