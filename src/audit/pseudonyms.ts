import { createHmac, randomBytes } from 'node:crypto';
import { ERASED, ERASED_VALUES, PERSONAL_DATA, type PersonalField } from '../domain/personalData';
import { migrate, migrationSet } from '../sql/migrations';
import type { SqlDatabase } from '../sql/sqlDatabase';
import { userIdForEmail } from '../domain/user/userId';

/**
 * Stable pseudonyms for analysts, who read the log and the exports without names or e-mails unless
 * their token grants `personal-data:raw`. A subject's pseudonym is an HMAC of their id under a key of
 * this installation: the same person reads the same everywhere and across exports, and nobody without
 * the key can tell who it is (the key is kept in its own table, never in the log; an exported log
 * carries no key). Free text (messages, notes, reasons, profiles) is left out rather than pseudonymised.
 */

export const PSEUDONYMISED = '[pseudonymised]';

/** Analysts read personal data pseudonymised unless their token grants this; each such read is recorded (read audit). */
export const RAW_PERSONAL_DATA = 'personal-data:raw';

/** Whether a caller with this role and these permissions reads names and e-mails as they are (everyone but analysts without the permission). */
export const readsRaw = (role: string, permissions: readonly string[] | undefined): boolean =>
  role !== 'analyst' || (permissions?.includes(RAW_PERSONAL_DATA) ?? false);

const KEY_SCHEMA = /* sql */ `
CREATE TABLE IF NOT EXISTS personal_data_pseudonym_key (
  id integer PRIMARY KEY CHECK (id = 1),
  key bytea NOT NULL
);`;

/** The pseudonym key's table (src/sql/migrations.ts): a change is a new migration at the end. */
export const PSEUDONYM_KEY_MIGRATIONS = migrationSet('pseudonym-key', [{ name: '0001_baseline', sql: KEY_SCHEMA }]);

type Data = Readonly<Record<string, unknown>>;

export class Pseudonyms {
  private constructor(private readonly key: Buffer) {}

  /** This installation's key, made (at random) on first use. */
  static async load(db: SqlDatabase): Promise<Pseudonyms> {
    await migrate(db, PSEUDONYM_KEY_MIGRATIONS);
    const read = async () => (await db.query<{ key: Buffer | Uint8Array }>(`SELECT key FROM personal_data_pseudonym_key WHERE id = 1`)).rows[0]?.key;
    // Read first: made once, read on every start (a write costs a start more, and needs none).
    let key = await read();
    if (!key) {
      await db.query(`INSERT INTO personal_data_pseudonym_key (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, [randomBytes(32)]);
      key = await read();
    }
    return new Pseudonyms(Buffer.from(key!));
  }

  /** For tests and tools that bring their own key. */
  static withKey(key: Buffer): Pseudonyms {
    return new Pseudonyms(key);
  }

  /** `person-` and 16 hex digits, the same for the same subject id. */
  of(subjectId: string): string {
    return `person-${createHmac('sha256', this.key).update(subjectId).digest('hex').slice(0, 16)}`;
  }

  /** A name or e-mail as an analyst reads it: the pseudonym of `subjectId`; nothing, empty or `[erased]` as it is. */
  named<T extends string | null>(value: T, subjectId: string | null): T | string {
    if (value === null || value === '' || value === ERASED) return value;
    return subjectId === null ? PSEUDONYMISED : this.of(subjectId);
  }

  /** A manager known only by e-mail, as an analyst reads their name or address: the pseudonym of the subject their address would be as a user. */
  manager<T extends string | null>(value: T, managerEmail: string | null): T | string {
    return this.named(value, managerEmail === null || managerEmail === '' || managerEmail === ERASED ? null : userIdForEmail(managerEmail));
  }

  /**
   * An event's data and metadata as an analyst reads them: each personal field (personalData.ts) a
   * pseudonym where it names or addresses its subject, left out (its erased value) where it is free
   * text or details; the metadata's reason left out; `personalDataPseudonymised: true` in its data.
   */
  event<E extends { readonly type: string; readonly data: Data; readonly metadata: object }>(event: E): E {
    const rule = PERSONAL_DATA[event.type];
    const reason = (event.metadata as { reason?: unknown }).reason;
    const metadata = typeof reason === 'string' ? { ...event.metadata, reason: PSEUDONYMISED } : event.metadata;
    if (!rule || event.data.personalDataErased === true) return { ...event, metadata };
    const subject = rule.subjects(event.data)[0];
    const data: Record<string, unknown> = { ...event.data };
    let changed = false;
    for (const field of rule.fields) {
      if (!(field in data)) continue;
      // A manager's address names the manager (the subject their address would be as a user), not the event's subject.
      const named = field === 'managerEmail' && typeof data.managerEmail === 'string' && data.managerEmail !== '' ? userIdForEmail(data.managerEmail) : subject;
      data[field] = ERASED_VALUES[field] === ERASED && named !== undefined ? this.of(named) : ERASED_VALUES[field as PersonalField];
      changed = true;
    }
    // Said, as erasure says `personalDataErased`: a left-out value (null) is not a value removed.
    if (changed) data.personalDataPseudonymised = true;
    return { ...event, data, metadata };
  }

  /**
   * A folded state (as `stateAsOf` shows it) with the same fields pseudonymised wherever they appear:
   * a name or e-mail becomes the pseudonym of the nearest `userId` around it; a user's `profile` (the
   * folded profile attributes) is left out.
   */
  state(value: unknown, userId: string | null = null): unknown {
    if (Array.isArray(value)) return value.map((item) => this.state(item, userId));
    if (value === null || typeof value !== 'object') return value;
    const object = value as Record<string, unknown>;
    const owner = typeof object.userId === 'string' ? object.userId : userId;
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(object)) {
      const erased = key in ERASED_VALUES ? ERASED_VALUES[key as PersonalField] : key === 'profile' && owner !== null ? {} : undefined;
      if (erased !== undefined && item !== ERASED && (erased !== ERASED || owner !== null)) {
        // A name or address of the user around it: their pseudonym; free text or details: left out.
        // (A program's or initiative's own name has no user around it and stays.)
        result[key] = erased === ERASED && typeof item === 'string' ? this.of(owner!) : erased;
      } else {
        result[key] = this.state(item, owner);
      }
    }
    return result;
  }
}
