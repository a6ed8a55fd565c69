import { isIP } from 'node:net';

/*
 * Rate limits per token subject (reads and writes apart) and per client address, as token buckets
 * in this process's memory: each instance behind a load balancer limits on its own, so the limits
 * are per instance. A refused request is answered 429 with Retry-After.
 */

export type RequestKind = 'read' | 'write';

export interface RateLimitSettings {
  /** Queries (and subscriptions, exports) one token subject may send per minute; 0: no limit. */
  readonly readsPerMinute: number;
  /** Mutations one token subject may send per minute; 0: no limit. */
  readonly writesPerMinute: number;
  /** Requests of any kind one client address may send per minute, signed in or not; 0: no limit. */
  readonly addressPerMinute: number;
  /**
   * Proxies whose X-Forwarded-For is believed (exact addresses). Requests from anywhere else are
   * limited by their own address, whatever the header says.
   */
  readonly trustedProxies: readonly string[];
}

export const UNLIMITED: RateLimitSettings = { readsPerMinute: 0, writesPerMinute: 0, addressPerMinute: 0, trustedProxies: [] };

export type RateDecision = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number; readonly limit: string };

interface Bucket {
  tokens: number;
  updated: number;
}

const normalise = (address: string): string => {
  const trimmed = address.trim();
  return trimmed.startsWith('::ffff:') && isIP(trimmed.slice(7)) === 4 ? trimmed.slice(7) : trimmed;
};

/**
 * The client's address: the socket's peer, or, when that peer is a trusted proxy, the nearest
 * address in X-Forwarded-For that is not a trusted proxy (entries left of it could be forged).
 */
export const clientAddress = (peer: string | undefined, forwardedFor: string | readonly string[] | undefined, trustedProxies: readonly string[]): string => {
  const trusted = new Set(trustedProxies.map(normalise));
  const direct = normalise(peer ?? 'unknown');
  if (!trusted.has(direct) || forwardedFor === undefined) return direct;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor as string))
    .split(',')
    .map(normalise)
    .filter((hop) => isIP(hop) !== 0);
  for (let i = hops.length - 1; i >= 0; i -= 1) if (!trusted.has(hops[i]!)) return hops[i]!;
  return hops[0] ?? direct;
};

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly settings: RateLimitSettings,
    private readonly now: () => number = () => Date.now(),
  ) {}

  get trustedProxies(): readonly string[] {
    return this.settings.trustedProxies;
  }

  /** Takes one request from the address's bucket and, for a signed-in caller, the subject's bucket of that kind. */
  take(kind: RequestKind, address: string, subject: string | null): RateDecision {
    const wanted: [string, number, string][] = [];
    if (this.settings.addressPerMinute > 0) wanted.push([`address:${address}`, this.settings.addressPerMinute, `${this.settings.addressPerMinute} requests a minute from one address`]);
    const perMinute = kind === 'write' ? this.settings.writesPerMinute : this.settings.readsPerMinute;
    if (subject !== null && perMinute > 0) wanted.push([`${kind}:${subject}`, perMinute, `${perMinute} ${kind === 'write' ? 'mutations' : 'reads'} a minute for one token subject`]);
    const now = this.now();
    let refusal: { retryAfterSeconds: number; limit: string } | null = null;
    const buckets = wanted.map(([key, capacity, limit]) => {
      const bucket = this.refilled(key, capacity, now);
      if (bucket.tokens < 1) {
        const seconds = Math.max(1, Math.ceil(((1 - bucket.tokens) * 60) / capacity));
        if (!refusal || seconds > refusal.retryAfterSeconds) refusal = { retryAfterSeconds: seconds, limit };
      }
      return bucket;
    });
    if (refusal) return { ok: false, ...(refusal as { retryAfterSeconds: number; limit: string }) };
    for (const bucket of buckets) bucket.tokens -= 1;
    if (this.buckets.size > 50_000) this.forgetFull(now);
    return { ok: true };
  }

  /** Takes one request from a signed-in subject's bucket of that kind only (a route that learnt the subject after taking the address's). */
  takeForSubject(kind: RequestKind, subject: string): RateDecision {
    const perMinute = kind === 'write' ? this.settings.writesPerMinute : this.settings.readsPerMinute;
    if (perMinute <= 0) return { ok: true };
    const bucket = this.refilled(`${kind}:${subject}`, perMinute, this.now());
    if (bucket.tokens < 1) {
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(((1 - bucket.tokens) * 60) / perMinute)), limit: `${perMinute} ${kind === 'write' ? 'mutations' : 'reads'} a minute for one token subject` };
    }
    bucket.tokens -= 1;
    return { ok: true };
  }

  private refilled(key: string, capacity: number, now: number): Bucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: capacity, updated: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.updated) * capacity) / 60_000);
    bucket.updated = now;
    return bucket;
  }

  /** Buckets untouched for a minute are full again: dropping them changes nothing. */
  private forgetFull(now: number): void {
    for (const [key, bucket] of this.buckets) if (now - bucket.updated > 60_000) this.buckets.delete(key);
  }
}
