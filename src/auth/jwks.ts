import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';

/**
 * An identity provider's signing keys (its JWKS), fetched and cached. Keys are looked up by `kid`;
 * a `kid` not in the cache fetches the set again, at most once per `minRefetchMs` (so a flood of
 * tokens naming made-up keys cannot make this server hammer the provider), and the whole set is
 * fetched again once it is `maxAgeMs` old. A key the provider withdraws (a revoked kid) is gone from
 * the cache after the next fetch and stops verifying.
 */

/** The algorithms accepted from an identity provider: asymmetric only, never `none` or HMAC. */
export type OidcAlgorithm = 'RS256' | 'ES256';
export const OIDC_ALGORITHMS: readonly OidcAlgorithm[] = ['RS256', 'ES256'];

export interface VerificationKey {
  readonly kid: string;
  /** The algorithm the key is for: RSA keys sign RS256, P-256 keys ES256 (a JWK `alg`, if given, must agree). */
  readonly alg: OidcAlgorithm;
  readonly key: KeyObject;
}

export interface JwksCacheOptions {
  readonly url: string;
  /** The clock the cache ages by (the server's). */
  readonly now: () => Date;
  readonly maxAgeMs: number;
  readonly minRefetchMs: number;
  /** One fetch may take this long (default 5 s). */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

const MAX_JWKS_BYTES = 512 * 1024;
const MIN_RSA_BITS = 2048;

export class JwksUnavailableError extends Error {
  override readonly name = 'JwksUnavailableError';
}

/** The usable keys of a JWKS document; keys for other uses or algorithms, or without a kid, are skipped. */
export const parseJwks = (document: unknown): VerificationKey[] => {
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new JwksUnavailableError('the JWKS document has no "keys" list');
  const usable: VerificationKey[] = [];
  for (const jwk of keys as Record<string, unknown>[]) {
    if (typeof jwk !== 'object' || jwk === null || typeof jwk.kid !== 'string' || jwk.kid === '') continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    let alg: OidcAlgorithm;
    if (jwk.kty === 'RSA') alg = 'RS256';
    else if (jwk.kty === 'EC' && jwk.crv === 'P-256') alg = 'ES256';
    else continue;
    if (jwk.alg !== undefined && jwk.alg !== alg) continue;
    // Only the public members: a JWKS that wrongly carries private ones must not make us hold them.
    const publicMembers: JsonWebKey =
      alg === 'RS256' ? { kty: 'RSA', n: jwk.n as string, e: jwk.e as string } : { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string };
    let key: KeyObject;
    try {
      key = createPublicKey({ key: publicMembers, format: 'jwk' });
    } catch {
      continue;
    }
    if (alg === 'RS256' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) continue;
    usable.push({ kid: jwk.kid, alg, key });
  }
  return usable;
};

export class JwksCache {
  private keys = new Map<string, VerificationKey>();
  private fetchedAt: number | null = null;
  private lastAttemptAt: number | null = null;
  private inFlight: Promise<void> | null = null;
  private readonly listeners = new Set<() => void>();
  /** How many times the set was fetched (for operators' logs and the tests). */
  fetchCount = 0;

  constructor(private readonly options: JwksCacheOptions) {}

  /** Called after every successful fetch (open sockets re-check their key then). */
  onRefresh(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The key named `kid`, fetching the set when it is stale or does not have it (rate-limited); null when the provider does not publish it. */
  async key(kid: string): Promise<VerificationKey | null> {
    const now = this.options.now().getTime();
    const mayFetch = this.lastAttemptAt === null || now - this.lastAttemptAt >= this.options.minRefetchMs;
    const stale = this.fetchedAt === null || now - this.fetchedAt >= this.options.maxAgeMs;
    // A provider that is down is asked again at most once per minRefetchMs, stale set or unknown kid alike.
    if (mayFetch && (stale || !this.keys.has(kid))) await this.refresh();
    else if (this.fetchedAt === null) throw new JwksUnavailableError('its keys could not be fetched yet; the server tries again shortly');
    return this.keys.get(kid) ?? null;
  }

  /** Whether the cached set still has `kid` (no fetch). */
  has(kid: string): boolean {
    return this.keys.has(kid);
  }

  /**
   * Fetches the set now (concurrent callers share one fetch). A failed fetch keeps the keys in hand
   * (the provider being down must not sign everybody out) and throws only when there are none.
   */
  async refresh(): Promise<void> {
    this.inFlight ??= this.fetchKeys().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async fetchKeys(): Promise<void> {
    this.lastAttemptAt = this.options.now().getTime();
    const doFetch = this.options.fetch ?? fetch;
    let keys: VerificationKey[];
    try {
      const response = await doFetch(this.options.url, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      });
      if (!response.ok) throw new JwksUnavailableError(`the JWKS URL answered ${response.status}`);
      const text = await response.text();
      if (text.length > MAX_JWKS_BYTES) throw new JwksUnavailableError(`the JWKS document is larger than ${MAX_JWKS_BYTES} bytes`);
      let document: unknown;
      try {
        document = JSON.parse(text);
      } catch {
        throw new JwksUnavailableError('the JWKS document is not JSON');
      }
      keys = parseJwks(document);
    } catch (error) {
      if (this.fetchedAt !== null) return;
      throw error instanceof JwksUnavailableError ? error : new JwksUnavailableError(`the JWKS could not be fetched (${(error as Error).message})`);
    }
    this.keys = new Map(keys.map((key) => [key.kid, key]));
    this.fetchedAt = this.options.now().getTime();
    this.fetchCount += 1;
    for (const listener of this.listeners) listener();
  }
}
