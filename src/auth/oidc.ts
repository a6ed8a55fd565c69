import { verify } from 'node:crypto';
import type { OidcSettings } from '../config';
import { USER_STATUS_TABLE } from '../domain/user/userStatus';
import { checkAudience, checkClaimTimes, unauthenticated, type AuthenticatedActor, type TokenClaimPolicy, type TokenRole } from '../graphql/auth';
import { JwksCache, JwksUnavailableError, OIDC_ALGORITHMS, type OidcAlgorithm } from './jwks';
import type { UserDirectory } from './userDirectory';

/**
 * Tokens from an organisation's identity provider (OpenID Connect): RS256 or ES256 JWTs signed
 * with a key from its JWKS, checked with `node:crypto` (jose is not a dependency). The algorithm
 * comes from our list and must match the key the `kid` names (an RSA key never checks an ES256
 * token, no key checks `none` or HMAC), so the header cannot choose how it is verified.
 *
 * The provider says who the caller is; this server decides what that means here: the role from a
 * configured claim-to-role map, and the user from its own records (the user holding the token's
 * e-mail, or an existing user id). A token can never name someone else's user: a `userId` claim
 * must be the user its claim maps to.
 */

export interface DecodedToken {
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
  readonly signingInput: string;
  readonly signature: Buffer;
}

const PARTICIPANT: Partial<Record<TokenRole, 'MENTOR' | 'MENTEE'>> = { mentor: 'MENTOR', mentee: 'MENTEE' };

/** `a.b.c` reads nested objects (Keycloak's `realm_access.roles`); a claim name with dots is tried whole first. */
const claimAt = (claims: Readonly<Record<string, unknown>>, path: string): unknown => {
  if (path in claims) return claims[path];
  let value: unknown = claims;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
};

export class OidcVerifier {
  readonly jwks: JwksCache;

  constructor(
    private readonly settings: OidcSettings,
    private readonly policy: TokenClaimPolicy,
    private readonly directory: UserDirectory,
    private readonly now: () => Date,
    fetchImpl?: typeof fetch,
  ) {
    this.jwks = new JwksCache({
      url: settings.jwksUrl,
      now,
      maxAgeMs: settings.jwksRefreshSeconds * 1000,
      minRefetchMs: settings.jwksMinRefetchSeconds * 1000,
      ...(fetchImpl ? { fetch: fetchImpl } : {}),
    });
  }

  get issuer(): string {
    return this.settings.issuer;
  }

  async verify(token: DecodedToken): Promise<AuthenticatedActor> {
    const { header, claims } = token;
    const alg = header.alg;
    if (!OIDC_ALGORITHMS.includes(alg as OidcAlgorithm)) {
      throw unauthenticated(`it is signed with ${JSON.stringify(alg ?? null)}; tokens of the identity provider must be signed with ${OIDC_ALGORITHMS.join(' or ')}.`);
    }
    if (header.crit !== undefined) throw unauthenticated('it has critical header extensions this server does not understand.');
    if (typeof header.kid !== 'string' || header.kid === '') throw unauthenticated('it does not name its signing key ("kid" header).');
    let key;
    try {
      key = await this.jwks.key(header.kid);
    } catch (error) {
      if (error instanceof JwksUnavailableError) throw unauthenticated(`the identity provider's keys are not available (${error.message}). Try again shortly.`);
      throw error;
    }
    if (!key) {
      throw unauthenticated(`it names the key ${JSON.stringify(header.kid)}, which the identity provider does not publish (withdrawn, or never its key).`);
    }
    if (key.alg !== alg) {
      throw unauthenticated(`it says ${alg}, but the key ${JSON.stringify(header.kid)} is for ${key.alg}.`);
    }
    const signature = token.signature;
    // ES256 signatures are r||s, 32 bytes each (RFC 7518 §3.4), not DER.
    if (alg === 'ES256' && signature.length !== 64) throw unauthenticated('its signature does not match (an ES256 signature is 64 bytes).');
    const valid = verify('sha256', Buffer.from(token.signingInput), alg === 'ES256' ? { key: key.key, dsaEncoding: 'ieee-p1363' } : key.key, signature);
    if (!valid) throw unauthenticated('its signature does not match the identity provider\'s key it names.');

    if (claims.iss !== this.settings.issuer) {
      throw unauthenticated(`it was issued by ${JSON.stringify(claims.iss ?? null)}, not by the configured identity provider.`);
    }
    const times = checkClaimTimes(claims, this.now(), this.policy);
    checkAudience(claims, this.settings.audience);
    if (typeof claims.sub !== 'string' || claims.sub.trim() === '') throw unauthenticated('it names no subject ("sub" claim).');

    const role = this.role(claims);
    const userId = await this.mappedUser(claims, role);
    if (claims.userId !== undefined && claims.userId !== userId) {
      throw unauthenticated(
        userId === null
          ? `it names user ${JSON.stringify(claims.userId)}, but its "${this.settings.userClaim}" claim maps to no user of this server.`
          : `it names user ${JSON.stringify(claims.userId)}, but its "${this.settings.userClaim}" claim maps to another user; a token may only name its own user.`,
      );
    }
    const email = this.settings.userClaimKind === 'email' ? (claimAt(claims, this.settings.userClaim) as string) : undefined;
    const name = typeof claims.name === 'string' && claims.name !== '' ? claims.name : undefined;
    return {
      // Managers are known by their e-mail here (the manager report); everyone else by the provider's subject.
      id: role === 'manager' && email ? email : claims.sub,
      role,
      ...(name !== undefined ? { name } : {}),
      ...(userId !== null ? { userId } : {}),
      expiresAt: times.expiresAt,
      issuedAt: times.issuedAt,
      subject: claims.sub,
      issuer: this.settings.issuer,
      keyId: header.kid,
      ...(typeof claims.jti === 'string' && claims.jti !== '' ? { tokenId: claims.jti } : {}),
    };
  }

  /** The first entry of the role map whose value the role claim carries. */
  private role(claims: Readonly<Record<string, unknown>>): TokenRole {
    const raw = claimAt(claims, this.settings.roleClaim);
    const values = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw.filter((value): value is string => typeof value === 'string') : [];
    const mapped = this.settings.roleMap.find(([value]) => values.includes(value));
    if (!mapped) {
      throw unauthenticated(`its "${this.settings.roleClaim}" claim gives no role on this server (none of its values is in the configured role map).`);
    }
    return mapped[1];
  }

  /**
   * Our user for the token's user claim, checked against our records: null when it maps to none.
   * Mentors and mentees must map to a registered user who may log in and takes part in that role.
   */
  private async mappedUser(claims: Readonly<Record<string, unknown>>, role: TokenRole): Promise<string | null> {
    const { userClaim, userClaimKind } = this.settings;
    const value = claimAt(claims, userClaim);
    const participant = PARTICIPANT[role];
    if (typeof value !== 'string' || value.trim() === '') {
      if (participant || role === 'manager' || claims.userId !== undefined) throw unauthenticated(`it has no "${userClaim}" claim, which names its user on this server.`);
      return null;
    }
    // Staff are known by their subject: their address plays no part unless the token names a user.
    if (!participant && role !== 'manager' && claims.userId === undefined) return null;
    if (userClaimKind === 'email' && claims.email_verified !== undefined && claims.email_verified !== true) {
      throw unauthenticated('its e-mail address is not verified by the identity provider ("email_verified" is not true).');
    }
    if (!participant && claims.userId === undefined) return null;
    // From the directory on every request (its answers kept at most AUTH_USER_CACHE_SECONDS): the
    // comparison with the token's `userId` and the status and role checks below are never skipped.
    const userId = userClaimKind === 'email' ? await this.directory.userIdOfEmail(value) : value;
    const user = userId === null ? null : await this.directory.user(userId);
    if (participant) {
      if (!user) throw unauthenticated(`its "${userClaim}" claim names no user of this server; a ${role} must be registered here first.`);
      if (USER_STATUS_TABLE[user.userStatus].logIn === 'NO') {
        throw unauthenticated(`user ${user.userId} may not sign in: their status is ${USER_STATUS_TABLE[user.userStatus].name}.`);
      }
      if (!user.personas.some((persona) => persona.role === participant) && user.role !== participant) {
        throw unauthenticated(`user ${user.userId} does not take part as a ${role}; the identity provider's role for them does not match this server's records.`);
      }
    }
    return user?.userId ?? null;
  }
}
