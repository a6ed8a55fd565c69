import type { TokenSettings } from '../config';
import { TOKEN_ISSUER, decodeToken, unauthenticated, verifyToken, type AuthenticatedActor, type TokenClaimPolicy, type TokenKeys } from '../graphql/auth';
import type { Logger } from '../log';
import { OidcVerifier } from './oidc';
import type { TokenRevocations } from './revocations';
import type { UserDirectory } from './userDirectory';

/**
 * Every door's token check (GraphQL over HTTP and WebSocket, the CSV exports): this server's own
 * HS256 tokens and, when configured, an identity provider's, told apart by their issuer; then the
 * revocation list. Live sockets ask `whyNoLongerValid` whenever the list or the provider's keys
 * change, and close when the answer is not null.
 */
export interface Authenticator {
  authenticate(token: string): Promise<AuthenticatedActor>;
  /** Why a token accepted earlier is no longer (revoked, or its provider key withdrawn); null while it still holds. */
  whyNoLongerValid(actor: AuthenticatedActor): string | null;
  /** Called after the revocation list or the provider's keys were read again. */
  onChange(listener: () => void): () => void;
  start(): void;
  stop(): void;
}

export interface AuthenticatorOptions {
  /** This server's HS256 keys (null: only the identity provider's tokens are accepted). */
  readonly localKeys: TokenKeys | null;
  readonly settings: TokenSettings;
  readonly revocations: TokenRevocations;
  readonly users: UserDirectory;
  readonly now: () => Date;
  readonly logger: Logger;
  /** Replaces global fetch for the JWKS (tests never need it: they serve a real JWKS). */
  readonly fetch?: typeof fetch;
}

/** How many of this server's verified tokens are remembered (oldest forgotten first). */
const VERIFIED_TOKENS_KEPT = 10_000;

interface VerifiedToken {
  readonly actor: AuthenticatedActor;
  /** From when until when (ms) the full check accepts it, leaving out the clock skew it also allows. */
  readonly fromMs: number;
  readonly untilMs: number;
}

/**
 * This server's tokens already verified, by their whole text (the signature included), so that a
 * client's every request does not decode the token and compute its HMAC again (about a tenth of a
 * constant query's CPU in a profile). A token is taken from here only while the clock is inside the
 * times the full check accepts; the revocation list is still asked on every request.
 */
class VerifiedTokens {
  private readonly tokens = new Map<string, VerifiedToken>();

  get(token: string, nowMs: number): AuthenticatedActor | null {
    const verified = this.tokens.get(token);
    return verified && nowMs >= verified.fromMs && nowMs <= verified.untilMs ? verified.actor : null;
  }

  remember(token: string, actor: AuthenticatedActor, claims: Readonly<Record<string, unknown>>): void {
    const { iat, nbf, exp } = claims;
    if (typeof iat !== 'number' || typeof exp !== 'number') return;
    if (this.tokens.size >= VERIFIED_TOKENS_KEPT) this.tokens.delete(this.tokens.keys().next().value!);
    this.tokens.set(token, { actor, fromMs: Math.max(iat, typeof nbf === 'number' ? nbf : iat) * 1000, untilMs: exp * 1000 });
  }
}

export const createAuthenticator = (options: AuthenticatorOptions): Authenticator => {
  const { settings, revocations, now, logger } = options;
  const localPolicy: TokenClaimPolicy = {
    maxLifetimeSeconds: settings.maxLifetimeSeconds,
    clockSkewSeconds: settings.clockSkewSeconds,
    ...(settings.localAudience !== undefined ? { audience: settings.localAudience } : {}),
  };
  const oidc = settings.oidc
    ? new OidcVerifier(
        settings.oidc,
        { maxLifetimeSeconds: settings.maxLifetimeSeconds, clockSkewSeconds: settings.clockSkewSeconds, audience: settings.oidc.audience },
        options.users,
        now,
        options.fetch,
      )
    : null;
  let jwksTimer: NodeJS.Timeout | null = null;
  const verifiedLocal = new VerifiedTokens();

  const whyNoLongerValid = (actor: AuthenticatedActor): string | null => {
    const revoked = revocations.revokedReason(actor);
    if (revoked) return revoked;
    if (oidc && actor.issuer === oidc.issuer && actor.keyId !== undefined && !oidc.jwks.has(actor.keyId)) {
      return `its signing key ${JSON.stringify(actor.keyId)} was withdrawn by the identity provider.`;
    }
    return null;
  };

  /** The full check of a token's signature and claims, by its issuer. */
  const verify = async (token: string, at: Date): Promise<AuthenticatedActor> => {
    const decoded = decodeToken(token);
    const issuer = decoded.claims.iss;
    if (oidc && issuer === oidc.issuer) return oidc.verify(decoded);
    if (options.localKeys && (issuer === TOKEN_ISSUER || !oidc)) {
      const actor = await verifyToken(options.localKeys, token, { now: at, policy: localPolicy });
      verifiedLocal.remember(token, actor, decoded.claims);
      return actor;
    }
    const trusted = [...(options.localKeys ? [TOKEN_ISSUER] : []), ...(oidc ? [oidc.issuer] : [])];
    throw unauthenticated(`it was issued by ${JSON.stringify(issuer ?? null)}; this server trusts tokens from ${trusted.map((name) => JSON.stringify(name)).join(' and ')}.`);
  };

  return {
    async authenticate(token) {
      const at = now();
      const actor = verifiedLocal.get(token, at.getTime()) ?? (await verify(token, at));
      const revoked = revocations.revokedReason(actor);
      if (revoked) throw unauthenticated(revoked);
      return actor;
    },
    whyNoLongerValid,
    onChange(listener) {
      const offList = revocations.onChange(listener);
      const offKeys = oidc?.jwks.onRefresh(listener);
      return () => {
        offList();
        offKeys?.();
      };
    },
    start() {
      revocations.start();
      if (oidc && !jwksTimer) {
        // Fetched again even when no token asks, so a withdrawn key also ends the sockets it opened.
        jwksTimer = setInterval(() => {
          oidc.jwks.refresh().catch((error: unknown) => logger.warn({ err: error }, "Could not fetch the identity provider's keys; keeping the ones in hand"));
        }, settings.oidc!.jwksRefreshSeconds * 1000);
        jwksTimer.unref();
      }
    },
    stop() {
      revocations.stop();
      if (jwksTimer) clearInterval(jwksTimer);
      jwksTimer = null;
    },
  };
};
