import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * What is known about the HTTP request being served, wherever its work runs (resolvers, commands,
 * the logger): its id, the W3C trace it belongs to, and what the server learns about it on the way.
 */
export interface RequestScope {
  /** From `x-request-id` when the caller sent a plain one, else the trace id of `traceparent`, else made here. */
  readonly requestId: string;
  /** The trace id of a valid `traceparent` header, or of the request's span when tracing is on. */
  readonly traceId?: string;
  /** The request's own span id when tracing is on. */
  readonly spanId?: string;
  /** The client's address (X-Forwarded-For read only from a trusted proxy). */
  address?: string;
  operationName?: string | null;
  operationType?: string;
  actorId?: string | null;
  correlationId?: string;
  /** The GraphQL response carried errors. */
  failed?: boolean;
}

// Async context, not a client: one per process by nature (Node.js carries it across awaits).
const storage = new AsyncLocalStorage<RequestScope>();

/** Runs `work` with `scope` as the current request for everything it calls and awaits. */
export const runInRequestScope = <T>(scope: RequestScope, work: () => T): T => storage.run(scope, work);

/** The request being served, or undefined outside one (background jobs, start-up). */
export const currentRequest = (): RequestScope | undefined => storage.getStore();

/** A caller-chosen id ends up in logs and error messages, so only a plain token-like string is kept. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** W3C Trace Context: version-traceid-parentid-flags; an all-zero trace id is invalid. */
const TRACEPARENT = /^([\da-f]{2})-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/;

const single = (value: string | readonly string[] | undefined): string | undefined => (typeof value === 'string' ? value : value?.[0]);

/** The caller's place in a W3C trace (`traceparent`), when the header is valid. */
export const incomingTraceParent = (headers: IncomingHttpHeaders): { readonly traceId: string; readonly spanId: string; readonly sampled: boolean } | undefined => {
  const trace = TRACEPARENT.exec(single(headers.traceparent)?.trim().toLowerCase() ?? '');
  if (!trace || trace[1] === 'ff' || /^0+$/.test(trace[2]!) || /^0+$/.test(trace[3]!)) return undefined;
  return { traceId: trace[2]!, spanId: trace[3]!, sampled: (parseInt(trace[4]!, 16) & 1) === 1 };
};

/** The request id and trace id a request arrives with (`x-request-id`, `traceparent`), or a new id. */
export const incomingRequestIds = (headers: IncomingHttpHeaders, newId: () => string): { readonly requestId: string; readonly traceId?: string } => {
  const offered = single(headers['x-request-id'])?.trim();
  const traceId = incomingTraceParent(headers)?.traceId;
  const requestId = offered && SAFE_REQUEST_ID.test(offered) ? offered : (traceId ?? newId());
  return { requestId, ...(traceId !== undefined ? { traceId } : {}) };
};
