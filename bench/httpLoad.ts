/**
 * The HTTP load generator of `graphqlThroughput.ts`, run as a child process (`fork`) so that the
 * server's CPU time (`process.cpuUsage` of the parent) is the server's alone, not the clients'.
 *
 * The parent sends a `LoadRequest`; each client loops over its own list of request bodies (a client
 * moves to its next body only when the current one succeeded, so a status cycle stays in step) until
 * the time is up, and the child answers with a `LoadResult`.
 */

export interface LoadRequest {
  readonly url: string;
  readonly token: string;
  /** One list of bodies per client (clients = lists). */
  readonly bodies: readonly (readonly string[])[];
  readonly seconds: number;
  /** Stop after this many requests in all (the time still bounds it). */
  readonly maxRequests?: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly failures: number;
  /** The first failure's answer, cut short. */
  readonly firstFailure: string | null;
  readonly seconds: number;
  /** Latencies in ms, sorted. */
  readonly latencies: readonly number[];
  /** Per client, how many of its requests succeeded (how far it moved through its bodies). */
  readonly advanced: readonly number[];
}

/** Refused, failed or otherwise wrong: a top-level `errors`, or a payload whose `errors` is not empty. */
const failed = (body: { data?: Record<string, unknown> | null; errors?: unknown }): boolean => {
  if (body.errors || !body.data) return true;
  for (const value of Object.values(body.data)) {
    const errors = (value as { errors?: unknown[] } | null)?.errors;
    if (Array.isArray(errors) && errors.length > 0) return true;
  }
  return false;
};

export const runLoad = async (request: LoadRequest): Promise<LoadResult> => {
  const latencies: number[] = [];
  let failures = 0;
  let firstFailure: string | null = null;
  let started = 0;
  const deadline = performance.now() + request.seconds * 1000;
  const more = () => performance.now() < deadline && (request.maxRequests === undefined || started < request.maxRequests);
  const begin = performance.now();
  const advanced = request.bodies.map(() => 0);
  await Promise.all(
    request.bodies.map(async (bodies, client) => {
      let next = 0;
      while (more()) {
        started += 1;
        const t = performance.now();
        const response = await fetch(request.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${request.token}` },
          body: bodies[next % bodies.length]!,
        });
        const text = await response.text();
        latencies.push(performance.now() - t);
        let ok = response.ok;
        if (ok) {
          try {
            ok = !failed(JSON.parse(text) as { data?: Record<string, unknown> | null; errors?: unknown });
          } catch {
            ok = false;
          }
        }
        if (ok) (next += 1), (advanced[client] = next);
        else {
          failures += 1;
          firstFailure ??= `${response.status} ${text.slice(0, 400)}`;
        }
      }
    }),
  );
  return { requests: latencies.length, failures, firstFailure, seconds: (performance.now() - begin) / 1000, latencies: latencies.sort((a, b) => a - b), advanced };
};

if (require.main === module && process.send) {
  process.on('message', (message: LoadRequest | 'exit') => {
    if (message === 'exit') process.exit(0);
    runLoad(message).then(
      (result) => process.send!({ ok: true, result }),
      (error: unknown) => process.send!({ ok: false, error: error instanceof Error ? error.stack : String(error) }),
    );
  });
  process.send('ready');
}
