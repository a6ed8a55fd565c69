import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { DomainError } from '../domain/shared/decider';
import { ROLES, type Actor, type Role } from '../eventstore/eventStore';

/**
 * Bearer tokens are standard JWTs signed with HS256 (HMAC-SHA256) and a shared secret.
 *
 * They are made and checked with `node:crypto` rather than `jose`: jose 6 ships only as an ES
 * module, which this CommonJS build loads on Node 20 but Jest on Node 20 cannot. The format is
 * plain RFC 7519, so any JWT library (jose included) reads and writes the same tokens. Only HS256
 * is accepted, whatever the token's header says, which closes the `alg: none` and key-confusion
 * holes of libraries that trust the header.
 */

/**
 * One HMAC key. `kid` goes in the header of the tokens it signs, so verification picks the key by
 * name and several keys can verify at once while one of them is being rotated out.
 */
export interface TokenKey {
  readonly kid: string;
  readonly secret: string;
}

/** The keys a server trusts: `signing` mints, every key in `verifying` (signing included) verifies. */
export interface TokenKeyRing {
  readonly signing: TokenKey;
  readonly verifying: readonly TokenKey[];
}

/**
 * What verification accepts: a key ring, or one bare secret (tokens with or without a `kid`).
 * No secret is written in the code: keys come from configuration or the embedded store's key file.
 */
export type TokenKeys = string | TokenKeyRing;

const KID = /^[A-Za-z0-9._-]{1,64}$/;

export const isKeyId = (value: string): boolean => KID.test(value);

/** A ring from keys in order: the one named `signingKid`, else the first, signs. */
export const keyRing = (keys: readonly TokenKey[], signingKid?: string): TokenKeyRing => {
  if (keys.length === 0) throw new Error('A key ring needs at least one key.');
  const kids = new Set<string>();
  for (const key of keys) {
    if (!isKeyId(key.kid)) throw new Error(`Key id "${key.kid}" must be 1 to 64 letters, digits, dots, dashes or underscores.`);
    if (kids.has(key.kid)) throw new Error(`Key id "${key.kid}" appears twice.`);
    kids.add(key.kid);
    secretKey(key.secret);
  }
  const signing = signingKid === undefined ? keys[0]! : keys.find((key) => key.kid === signingKid);
  if (!signing) throw new Error(`No key has the id "${signingKid}" named to sign tokens; the keys are ${[...kids].join(', ')}.`);
  return { signing, verifying: keys };
};

/** Written to and required in every token, so tokens of another service sharing a secret do not pass. */
export const TOKEN_ISSUER = 'mentoring-lifecycle';

/** HMAC-SHA256 keys shorter than its output are guessable offline from a single token. */
const MIN_SECRET_BYTES = 32;
const MAX_TOKEN_LENGTH = 8192;
const CLOCK_TOLERANCE_SECONDS = 5;

/**
 * The checks every token passes whoever signed it (this server's keys or an identity provider).
 * Settings AUTH_MAX_TOKEN_LIFETIME, AUTH_CLOCK_SKEW_SECONDS, AUTH_TOKEN_AUDIENCE / OIDC_AUDIENCE.
 */
export interface TokenClaimPolicy {
  /** Longest accepted `exp - iat`, in seconds; unset: no upper bound (only for direct calls, never configured). */
  readonly maxLifetimeSeconds?: number;
  /** How far the issuer's clock may be off ours, in seconds, for `exp`, `nbf` and `iat` (default 5). */
  readonly clockSkewSeconds?: number;
  /**
   * The audience this server is: the token's `aud` (a string or a list) must name it. Unset: a token
   * that names any audience is refused, since it was meant for another service.
   */
  readonly audience?: string;
}
/** A person's role. `system` is reserved for automatic moves and never appears in a token. */
export type TokenRole = Exclude<Role, 'system'>;
export const TOKEN_ROLES: readonly TokenRole[] = ROLES.filter((role): role is TokenRole => role !== 'system');

/** Who a verified token says the caller is. */
export interface AuthenticatedActor extends Actor {
  readonly role: TokenRole;
  readonly name?: string;
  /** The domain user a mentor, mentee or manager token belongs to. */
  readonly userId?: string;
  /** When the token stops being accepted (its `exp`); a live socket opened with it is closed then. */
  readonly expiresAt?: Date;
  /** Extra rights beyond the role's, e.g. `personal-data:raw` (an analyst who may read names and e-mails). */
  readonly permissions?: readonly string[];
  /** The token's own id (`jti`), by which one token can be revoked. */
  readonly tokenId?: string;
  /** The token's `sub` (for an identity provider's token it may differ from `id`), by which a subject's tokens are revoked. */
  readonly subject?: string;
  /** The token's `iss`. */
  readonly issuer?: string;
  /** When the token was issued (`iat`); revoking a subject "since" a time refuses tokens issued before it. */
  readonly issuedAt?: Date;
  /** The `kid` of the key that signed it (identity-provider tokens: a key withdrawn from the JWKS ends it). */
  readonly keyId?: string;
}

export { RAW_PERSONAL_DATA } from '../audit/pseudonyms';

export interface MintTokenOptions {
  /** A bare secret (the token gets no `kid`), or a ring whose signing key signs it. */
  readonly secret: TokenKeys;
  /** The actor id (`sub`), recorded in event metadata. */
  readonly subject: string;
  readonly role: TokenRole;
  readonly userId?: string;
  readonly name?: string;
  readonly permissions?: readonly string[];
  /** Seconds, or a duration such as `30m`, `12h`, `7d`. */
  readonly expiresIn: number | string;
  /** Issue time (default: now); the token expires `expiresIn` after it. */
  readonly now?: Date;
  /** Written as `aud` (AUTH_TOKEN_AUDIENCE), when the server checks one. */
  readonly audience?: string;
  /** The token's id (`jti`); default: a random UUID. */
  readonly tokenId?: string;
}

export interface VerifyTokenOptions {
  /** The clock reading to check `exp` and `nbf` against (default: now). */
  readonly now?: Date;
  readonly policy?: TokenClaimPolicy;
}

interface TokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly role: TokenRole;
  readonly name?: string;
  readonly userId?: string;
  readonly permissions?: readonly string[];
  readonly aud?: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** `90` or `'90'` (seconds), `'30m'`, `'12h'`, `'7d'`, `'2w'` → seconds; `null` when unreadable or not positive. */
export const parseDuration = (value: number | string): number | null => {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : null;
  const match = /^(\d{1,9})\s*([smhdw]?)$/.exec(value.trim());
  if (!match) return null;
  const seconds = Number(match[1]) * DURATION_UNITS[match[2] || 's']!;
  return seconds > 0 ? seconds : null;
};

export const isTokenRole = (value: unknown): value is TokenRole =>
  typeof value === 'string' && (TOKEN_ROLES as readonly string[]).includes(value);

const secretKey = (secret: string): Buffer => {
  const key = Buffer.from(secret, 'utf8');
  if (key.length < MIN_SECRET_BYTES) {
    throw new Error(`The token secret must be at least ${MIN_SECRET_BYTES} bytes long; the configured one has ${key.length}.`);
  }
  return key;
};

const encodeSegment = (value: object): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

const sign = (key: Buffer, signingInput: string): Buffer => createHmac('sha256', key).update(signingInput).digest();

export const mintToken = async (options: MintTokenOptions): Promise<string> => {
  const signing = typeof options.secret === 'string' ? null : options.secret.signing;
  const key = secretKey(signing ? signing.secret : (options.secret as string));
  if (!isTokenRole(options.role)) {
    throw new Error(`Tokens can carry one of the roles ${TOKEN_ROLES.join(', ')}; "${String(options.role)}" is not one of them.`);
  }
  if (options.subject.trim() === '') throw new Error('A token needs a non-empty subject (the actor id).');
  const lifetime = parseDuration(options.expiresIn);
  if (lifetime === null) {
    throw new Error(`"${options.expiresIn}" is not a token lifetime; use seconds or a duration such as 30m, 12h, 7d.`);
  }
  const issuedAt = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const claims: TokenClaims = {
    iss: TOKEN_ISSUER,
    sub: options.subject,
    role: options.role,
    ...(options.name !== undefined ? { name: options.name } : {}),
    ...(options.userId !== undefined ? { userId: options.userId } : {}),
    ...(options.permissions !== undefined ? { permissions: options.permissions } : {}),
    ...(options.audience !== undefined ? { aud: options.audience } : {}),
    jti: options.tokenId ?? randomUUID(),
    iat: issuedAt,
    exp: issuedAt + lifetime,
  };
  const header = { alg: 'HS256', typ: 'JWT', ...(signing ? { kid: signing.kid } : {}) };
  const signingInput = `${encodeSegment(header)}.${encodeSegment(claims)}`;
  return `${signingInput}.${sign(key, signingInput).toString('base64url')}`;
};

export const unauthenticated = (reason: string): DomainError =>
  new DomainError('UNAUTHENTICATED', `The bearer token was refused: ${reason}`);

const BASE64URL = /^[A-Za-z0-9_-]+$/;

const decodeJsonSegment = (segment: string, what: string): Record<string, unknown> => {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw unauthenticated(`its ${what} is not base64url-encoded JSON. Mint a new token.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw unauthenticated(`its ${what} is not a JSON object. Mint a new token.`);
  }
  return value as Record<string, unknown>;
};

const optionalString = (claims: Record<string, unknown>, name: string): string | undefined => {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw unauthenticated(`its "${name}" claim is not a non-empty string.`);
  return value;
};

const isNumericDate = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

/**
 * `exp` (required, not passed), `iat` (required, not ahead of our clock), `nbf` (when present, reached)
 * and `exp - iat` within the maximum lifetime, each with the clock skew allowed; the refusal says
 * which check failed. Shared by this server's tokens and the identity provider's.
 */
export const checkClaimTimes = (
  claims: Readonly<Record<string, unknown>>,
  now: Date,
  policy: TokenClaimPolicy,
): { readonly issuedAt: Date; readonly expiresAt: Date } => {
  const skew = policy.clockSkewSeconds ?? CLOCK_TOLERANCE_SECONDS;
  const nowSeconds = now.getTime() / 1000;
  if (!isNumericDate(claims.exp)) {
    throw unauthenticated('it has no expiry ("exp" claim); tokens must expire. Get a new one.');
  }
  if (nowSeconds > claims.exp + skew) {
    throw unauthenticated(`it expired at ${iso(claims.exp)} ("exp" check). Get a new one.`);
  }
  if (claims.nbf !== undefined) {
    if (!isNumericDate(claims.nbf)) throw unauthenticated('its "nbf" claim is not a time in seconds.');
    if (nowSeconds < claims.nbf - skew) throw unauthenticated(`it is not valid before ${iso(claims.nbf)} ("nbf" check).`);
  }
  if (!isNumericDate(claims.iat)) {
    throw unauthenticated('it does not say when it was issued ("iat" claim), so its lifetime cannot be checked. Get a new one.');
  }
  if (claims.iat > nowSeconds + skew) {
    throw unauthenticated(`it claims to be issued at ${iso(claims.iat)}, later than this server's clock allows ("iat" check, ${skew} s of skew allowed).`);
  }
  if (claims.exp < claims.iat) throw unauthenticated('it expires before it was issued ("exp" before "iat").');
  if (policy.maxLifetimeSeconds !== undefined && claims.exp - claims.iat > policy.maxLifetimeSeconds) {
    throw unauthenticated(
      `it is valid for ${Math.round(claims.exp - claims.iat)} s from issue to expiry, longer than the ${policy.maxLifetimeSeconds} s this server accepts (lifetime check). Get a shorter-lived token.`,
    );
  }
  return { issuedAt: new Date(claims.iat * 1000), expiresAt: new Date(claims.exp * 1000) };
};

/** The `aud` check: with an audience configured it must be named; without one, a token meant for any audience is foreign. */
export const checkAudience = (claims: Readonly<Record<string, unknown>>, audience: string | undefined): void => {
  const aud = claims.aud;
  if (aud === undefined) {
    if (audience !== undefined) throw unauthenticated(`it names no audience ("aud" check); this server accepts tokens for ${JSON.stringify(audience)}.`);
    return;
  }
  const named = typeof aud === 'string' ? [aud] : Array.isArray(aud) && aud.every((entry) => typeof entry === 'string') ? (aud as string[]) : null;
  if (named === null) throw unauthenticated('its "aud" claim is neither a string nor a list of strings.');
  if (audience === undefined) {
    throw unauthenticated(`it is meant for ${JSON.stringify(named)} ("aud" check), not for this server.`);
  }
  if (!named.includes(audience)) {
    throw unauthenticated(`it is meant for ${JSON.stringify(named)} ("aud" check), not for ${JSON.stringify(audience)}.`);
  }
};

/**
 * The key a token's header names. With a ring a `kid` must name one of its keys; a token without
 * one is checked against the signing key (tokens minted before key ids existed).
 */
const verificationKey = (keys: TokenKeys, header: Record<string, unknown>): Buffer => {
  if (typeof keys === 'string') return secretKey(keys);
  if (header.kid === undefined) return secretKey(keys.signing.secret);
  if (typeof header.kid !== 'string') throw unauthenticated('its "kid" header is not a string. Mint a new token.');
  const key = keys.verifying.find((candidate) => candidate.kid === header.kid);
  if (!key) throw unauthenticated(`it names the key ${JSON.stringify(header.kid)}, which this server does not trust (retired or never configured). Mint a new token.`);
  return secretKey(key.secret);
};

/**
 * A JWT's parts, read but not yet trusted: the format checked (three base64url parts, JSON header
 * and payload, a bounded length), nothing else. Verification decides what it is worth.
 */
export const decodeToken = (
  token: string,
): { readonly header: Record<string, unknown>; readonly claims: Record<string, unknown>; readonly signingInput: string; readonly signature: Buffer } => {
  if (token.length > MAX_TOKEN_LENGTH) throw unauthenticated(`it is longer than ${MAX_TOKEN_LENGTH} characters.`);
  const segments = token.split('.');
  if (segments.length !== 3 || !segments.every((segment) => BASE64URL.test(segment))) {
    throw unauthenticated('it is not a JWT (three base64url parts separated by dots).');
  }
  const [headerSegment, payloadSegment, signatureSegment] = segments as [string, string, string];
  return {
    header: decodeJsonSegment(headerSegment, 'header'),
    claims: decodeJsonSegment(payloadSegment, 'payload'),
    signingInput: `${headerSegment}.${payloadSegment}`,
    signature: Buffer.from(signatureSegment, 'base64url'),
  };
};

/** Checks signature, issuer, expiry and claims; throws a `DomainError` with code UNAUTHENTICATED. */
export const verifyToken = async (
  keys: TokenKeys,
  token: string,
  options: VerifyTokenOptions = {},
): Promise<AuthenticatedActor> => {
  if (typeof keys === 'string') secretKey(keys);
  if (token.length > MAX_TOKEN_LENGTH) throw unauthenticated(`it is longer than ${MAX_TOKEN_LENGTH} characters.`);
  const segments = token.split('.');
  if (segments.length !== 3 || !segments.every((segment) => BASE64URL.test(segment))) {
    throw unauthenticated('it is not a JWT (three base64url parts separated by dots). Mint one with `npm run token`.');
  }
  const [headerSegment, payloadSegment, signatureSegment] = segments as [string, string, string];

  const header = decodeJsonSegment(headerSegment, 'header');
  if (header.alg !== 'HS256') {
    throw unauthenticated(`it is signed with ${JSON.stringify(header.alg ?? null)}; only HS256 tokens issued by this server are accepted.`);
  }
  if (header.crit !== undefined) throw unauthenticated('it has critical header extensions this server does not understand.');

  const key = verificationKey(keys, header);
  const expected = sign(key, `${headerSegment}.${payloadSegment}`);
  const given = Buffer.from(signatureSegment, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw unauthenticated('its signature does not match. It was not issued by this server, or was signed with another secret.');
  }

  const claims = decodeJsonSegment(payloadSegment, 'payload');
  const times = checkClaimTimes(claims, options.now ?? new Date(), options.policy ?? {});
  checkAudience(claims, options.policy?.audience);
  if (claims.iss !== TOKEN_ISSUER) {
    throw unauthenticated(`it was issued by ${JSON.stringify(claims.iss ?? null)}, not by ${TOKEN_ISSUER}.`);
  }
  if (typeof claims.sub !== 'string' || claims.sub.trim() === '') {
    throw unauthenticated('it names no actor ("sub" claim).');
  }
  if (claims.role === 'system') {
    throw unauthenticated('it claims the role system, which is reserved for automatic moves.');
  }
  if (!isTokenRole(claims.role)) {
    throw unauthenticated(`its role ${JSON.stringify(claims.role ?? null)} is not one of ${TOKEN_ROLES.join(', ')}.`);
  }
  const name = optionalString(claims, 'name');
  const userId = optionalString(claims, 'userId');
  const tokenId = optionalString(claims, 'jti');
  const permissions = claims.permissions;
  if (permissions !== undefined && (!Array.isArray(permissions) || !permissions.every((p) => typeof p === 'string'))) {
    throw unauthenticated('its permissions claim is not a list of texts. Mint a new token.');
  }
  return {
    id: claims.sub,
    role: claims.role,
    ...(name !== undefined ? { name } : {}),
    ...(userId !== undefined ? { userId } : {}),
    expiresAt: times.expiresAt,
    issuedAt: times.issuedAt,
    subject: claims.sub,
    issuer: TOKEN_ISSUER,
    ...(tokenId !== undefined ? { tokenId } : {}),
    ...(typeof header.kid === 'string' ? { keyId: header.kid } : {}),
    ...(permissions !== undefined ? { permissions: permissions as string[] } : {}),
  };
};

/**
 * The token in an `Authorization: Bearer <token>` header; `null` when the header is absent.
 * A header that is present but not a bearer credential is refused rather than ignored, so a
 * client that meant to authenticate is not silently treated as anonymous.
 */
export const bearerToken = (authorization: string | undefined): string | null => {
  if (authorization === undefined || authorization.trim() === '') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization.trim());
  if (!match) throw unauthenticated('the Authorization header must read "Bearer <token>".');
  return match[1]!;
};
