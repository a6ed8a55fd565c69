import { createHash, randomUUID } from 'node:crypto';
import { DomainError } from '../domain/shared/decider';
import { normalizeEmail } from '../domain/user/userId';
import type { AuthenticatedActor } from '../graphql/auth';
import type { Logger } from '../log';
import { migrate, migrationSet } from '../sql/migrations';
import type { SqlDatabase } from '../sql/sqlDatabase';

/**
 * The token revocation list: one token by its id (`jti`), or every token of a subject issued before
 * a time. Kept in a table of the SQL database every instance shares (PostgreSQL, or the embedded
 * store), not in the event log:
 *
 * - it must hold on every setup the same way, KurrentDB included, and be readable at once, not
 *   after a projection catches up;
 * - a subject may be an e-mail address and a reason is free text: in a table they can be erased,
 *   where the hash-chained log would need them split off into forgettable payloads;
 * - revocations are about sessions, not the mentoring domain the log records.
 *
 * The table is its own audit: rows are only ever added (who revoked what, when, why); nothing the
 * API offers changes or deletes one, except an erasure of personal data (`eraseAddress`): the erased
 * person's address is replaced by a pseudonym (a SHA-256 of it) wherever a row holds it, and a
 * subject revocation so pseudonymised keeps refusing that address's tokens. Each instance keeps the rows still in effect in memory and
 * reads them again every `pollMs` (so another instance's revocation holds here within that time;
 * this instance's own at once), then tells its listeners, which close revoked live sockets.
 */

export type RevocationKind = 'TOKEN' | 'SUBJECT';

export interface TokenRevocation {
  readonly id: string;
  readonly kind: RevocationKind;
  /** The revoked token's `jti` (kind TOKEN). */
  readonly tokenId: string | null;
  /** The revoked subject (kind SUBJECT): the token's `sub`, or the actor id a token signs in as. */
  readonly subject: string | null;
  /** Kind SUBJECT: tokens issued before this are refused; later ones are accepted. */
  readonly issuedBefore: string | null;
  readonly revokedAt: string;
  readonly revokedBy: { readonly id: string; readonly role: string };
  readonly reason: string;
}

export type RevocationRequest =
  | { readonly kind: 'TOKEN'; readonly tokenId: string }
  | { readonly kind: 'SUBJECT'; readonly subject: string; readonly issuedBefore?: Date };

export interface TokenRevocationsOptions {
  readonly now: () => Date;
  /** No token lives longer (AUTH_MAX_TOKEN_LIFETIME): past that a revocation has nothing left to refuse. */
  readonly maxLifetimeSeconds: number;
  readonly clockSkewSeconds: number;
  readonly pollMs: number;
  readonly logger: Logger;
}

const SCHEMA = /* sql */ `
CREATE TABLE IF NOT EXISTS auth_token_revocations (
  seq bigserial PRIMARY KEY,
  id text NOT NULL UNIQUE,
  kind text NOT NULL CHECK (kind IN ('TOKEN', 'SUBJECT')),
  token_id text,
  subject text,
  issued_before timestamptz,
  revoked_at timestamptz NOT NULL,
  revoked_by text NOT NULL,
  revoked_by_role text NOT NULL,
  reason text NOT NULL,
  CHECK ((kind = 'TOKEN' AND token_id IS NOT NULL) OR (kind = 'SUBJECT' AND subject IS NOT NULL AND issued_before IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS auth_token_revocations_in_effect ON auth_token_revocations ((coalesce(issued_before, revoked_at)));
`;

/** The revocation list's schema (src/sql/migrations.ts): a change is a new migration at the end. */
export const REVOCATION_MIGRATIONS = migrationSet('token-revocations', [{ name: '0001_baseline', sql: SCHEMA }]);

interface Row {
  id: string;
  kind: RevocationKind;
  token_id: string | null;
  subject: string | null;
  issued_before: Date | string | null;
  revoked_at: Date | string;
  revoked_by: string;
  revoked_by_role: string;
  reason: string;
}

/** What an erased address reads as in the list: still matchable against a token's subject, no longer readable. */
export const addressPseudonym = (address: string): string => `erased:sha256:${createHash('sha256').update(normalizeEmail(address), 'utf8').digest('hex')}`;
const PSEUDONYM_PREFIX = 'erased:sha256:';
const ERASED_IN_REASON = '[erased address]';

const isoOf = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();

const fromRow = (row: Row): TokenRevocation => ({
  id: row.id,
  kind: row.kind,
  tokenId: row.token_id,
  subject: row.subject,
  issuedBefore: row.issued_before === null ? null : isoOf(row.issued_before),
  revokedAt: isoOf(row.revoked_at),
  revokedBy: { id: row.revoked_by, role: row.revoked_by_role },
  reason: row.reason,
});

const COLUMNS = 'id, kind, token_id, subject, issued_before, revoked_at, revoked_by, revoked_by_role, reason';

// Plain text only: no control characters (NUL included) or unpaired surrogates in what is stored.
const PLAIN = /^[^\p{Cc}\p{Cs}]*$/u;

const requireText = (field: string, value: string, max: number): string => {
  const trimmed = value.trim();
  if (trimmed === '' || trimmed.length > max || !PLAIN.test(trimmed)) {
    throw new DomainError('VALIDATION_FAILED', `${field} must be 1 to ${max} characters of plain text.`, { field });
  }
  return trimmed;
};

export class TokenRevocations {
  /** Token id → its revocation; subject → the latest "issued before" time in effect. */
  private tokens = new Map<string, TokenRevocation>();
  private subjects = new Map<string, TokenRevocation>();
  /** Whether a subject in effect is an erased address's pseudonym (only then are tokens' subjects hashed). */
  private pseudonymised = false;
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly db: SqlDatabase,
    private readonly options: TokenRevocationsOptions,
  ) {}

  static async create(db: SqlDatabase, options: TokenRevocationsOptions): Promise<TokenRevocations> {
    await migrate(db, REVOCATION_MIGRATIONS);
    const list = new TokenRevocations(db, options);
    await list.refresh();
    return list;
  }

  /** Called after every read of the list and every revocation made here. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) => this.options.logger.warn({ err: error }, 'Could not read the token revocation list; keeping the one in hand'));
    }, this.options.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The oldest issue time a token still accepted can have: anything revoked before it has expired anyway. */
  private horizon(): Date {
    return new Date(this.options.now().getTime() - (this.options.maxLifetimeSeconds + this.options.clockSkewSeconds) * 1000);
  }

  /** Reads the revocations still in effect (all of them: a handful, and no ordering race between instances). */
  async refresh(): Promise<void> {
    const { rows } = await this.db.query<Row>(
      `SELECT ${COLUMNS} FROM auth_token_revocations WHERE coalesce(issued_before, revoked_at) > $1 ORDER BY seq`,
      [this.horizon().toISOString()],
    );
    const tokens = new Map<string, TokenRevocation>();
    const subjects = new Map<string, TokenRevocation>();
    for (const revocation of rows.map(fromRow)) this.remember(revocation, tokens, subjects);
    this.tokens = tokens;
    this.subjects = subjects;
    this.pseudonymised = [...subjects.keys()].some((subject) => subject.startsWith(PSEUDONYM_PREFIX));
    this.changed();
  }

  private remember(revocation: TokenRevocation, tokens: Map<string, TokenRevocation>, subjects: Map<string, TokenRevocation>): void {
    if (revocation.kind === 'TOKEN') {
      tokens.set(revocation.tokenId!, revocation);
      return;
    }
    const earlier = subjects.get(revocation.subject!);
    if (!earlier || Date.parse(earlier.issuedBefore!) < Date.parse(revocation.issuedBefore!)) subjects.set(revocation.subject!, revocation);
  }

  private changed(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (error) {
        this.options.logger.error({ err: error }, 'A revocation listener failed');
      }
    }
  }

  /** Records a revocation; refuses bad input with VALIDATION_FAILED and records nothing then. */
  async revoke(request: RevocationRequest, by: { readonly id: string; readonly role: string }, reason: string): Promise<TokenRevocation> {
    const now = this.options.now();
    const why = requireText('reason', reason, 500);
    let revocation: TokenRevocation;
    if (request.kind === 'TOKEN') {
      revocation = {
        id: randomUUID(),
        kind: 'TOKEN',
        tokenId: requireText('tokenId', request.tokenId, 200),
        subject: null,
        issuedBefore: null,
        revokedAt: now.toISOString(),
        revokedBy: by,
        reason: why,
      };
    } else {
      const issuedBefore = request.issuedBefore ?? now;
      if (Number.isNaN(issuedBefore.getTime())) {
        throw new DomainError('VALIDATION_FAILED', 'issuedBefore must be an ISO-8601 date-time.', { field: 'issuedBefore' });
      }
      if (issuedBefore.getTime() > now.getTime() + this.options.clockSkewSeconds * 1000) {
        throw new DomainError(
          'VALIDATION_FAILED',
          `issuedBefore (${issuedBefore.toISOString()}) is in the future; revoke the tokens issued up to now (leave it out), and again later if needed.`,
          { field: 'issuedBefore' },
        );
      }
      revocation = {
        id: randomUUID(),
        kind: 'SUBJECT',
        tokenId: null,
        subject: requireText('subject', request.subject, 300),
        issuedBefore: issuedBefore.toISOString(),
        revokedAt: now.toISOString(),
        revokedBy: by,
        reason: why,
      };
    }
    await this.db.query(
      `INSERT INTO auth_token_revocations (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        revocation.id,
        revocation.kind,
        revocation.tokenId,
        revocation.subject,
        revocation.issuedBefore,
        revocation.revokedAt,
        revocation.revokedBy.id,
        revocation.revokedBy.role,
        revocation.reason,
      ],
    );
    this.remember(revocation, this.tokens, this.subjects);
    if (revocation.subject?.startsWith(PSEUDONYM_PREFIX)) this.pseudonymised = true;
    this.changed();
    return revocation;
  }

  /**
   * Erasure of a person's personal data: every row naming their address (as the revoked subject, as
   * who revoked, or in the reason) holds a pseudonym instead; the revocation stays in effect. Returns
   * how many rows changed. Idempotent.
   */
  async eraseAddress(address: string): Promise<number> {
    const normalized = normalizeEmail(address);
    if (normalized === '') return 0;
    const pattern = normalized.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const { rows } = await this.db.query<{ id: string }>(
      `UPDATE auth_token_revocations
          SET subject = CASE WHEN lower(subject) = $1 THEN $2 ELSE subject END,
              revoked_by = CASE WHEN lower(revoked_by) = $1 THEN $2 ELSE revoked_by END,
              reason = regexp_replace(reason, $3, $4, 'gi')
        WHERE lower(subject) = $1 OR lower(revoked_by) = $1 OR strpos(lower(reason), $1) > 0
        RETURNING id`,
      [normalized, addressPseudonym(normalized), pattern, ERASED_IN_REASON],
    );
    await this.refresh();
    return rows.length;
  }

  /** Why this token is revoked, or null when it is not. */
  revokedReason(actor: AuthenticatedActor): string | null {
    if (actor.tokenId !== undefined && this.tokens.has(actor.tokenId)) return `it was revoked (token ${actor.tokenId}).`;
    const named = [actor.subject ?? actor.id, actor.id];
    // A subject revocation whose address was erased is kept under the address's pseudonym.
    if (this.pseudonymised) for (const subject of [...named]) if (subject.includes('@')) named.push(addressPseudonym(subject));
    for (const subject of new Set(named)) {
      const revocation = this.subjects.get(subject);
      // `iat` counts whole seconds: a token from the very second of the revocation is refused too.
      if (revocation && (actor.issuedAt === undefined || actor.issuedAt.getTime() <= Date.parse(revocation.issuedBefore!))) {
        return `every token of its subject issued before ${revocation.issuedBefore} was revoked.`;
      }
    }
    return null;
  }

  /** The audit: every revocation ever made, newest first. */
  async list(first: number): Promise<TokenRevocation[]> {
    const { rows } = await this.db.query<Row>(`SELECT ${COLUMNS} FROM auth_token_revocations ORDER BY seq DESC LIMIT $1`, [first]);
    return rows.map(fromRow);
  }
}
