import { createHmac, randomBytes } from 'node:crypto';
import { EMAIL_RESERVATION_STREAM_PREFIX, normalizeEmail } from '../domain';
import { migrate, migrationSet } from '../sql/migrations';
import type { SqlDatabase } from '../sql/sqlDatabase';

/**
 * Names the reservation stream of an e-mail address (emailReservation.ts) without writing the
 * address into the log, which cannot be erased: `email-<HMAC-SHA256(key, normalised address)>`.
 * The key is random per installation and lives outside the log (`es_settings`, below), so the
 * stream ids cannot be tested against a dictionary of addresses by someone who reads the log, and
 * erasing a person's data never has to touch them.
 */
export interface EmailStreams {
  /** The reservation stream of this address (normalised here: trimmed, lower-cased). */
  reservationStream(email: string): string;
}

export const keyedEmailStreams = (key: Buffer): EmailStreams => {
  if (key.length < 32) throw new Error('The e-mail reservation key must be at least 32 bytes.');
  return {
    reservationStream: (email) => `${EMAIL_RESERVATION_STREAM_PREFIX}${createHmac('sha256', key).update(normalizeEmail(email), 'utf8').digest('hex')}`,
  };
};

const SETTINGS_SCHEMA = /* sql */ `
CREATE TABLE IF NOT EXISTS es_settings (
  name text PRIMARY KEY,
  value text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
)`;

/** The installation's settings table (src/sql/migrations.ts): a change is a new migration at the end. */
export const SETTINGS_MIGRATIONS = migrationSet('settings', [{ name: '0001_baseline', sql: SETTINGS_SCHEMA }]);

const KEY_NAME = 'email-reservation-key';

/**
 * The installation's key, made on first use (32 random bytes) in the SQL database that holds the
 * read models (with KurrentDB too: the key must not go into the event log). Every instance reads the
 * same row; concurrent first starts agree through the primary key. Losing the key loses no data but
 * makes reservations unreadable: a new key would let registered addresses register again, so back it
 * up with the database.
 */
export const loadEmailReservationKey = async (db: SqlDatabase): Promise<Buffer> => {
  await migrate(db, SETTINGS_MIGRATIONS);
  const read = async () => (await db.query<{ value: string }>(`SELECT value FROM es_settings WHERE name = $1`, [KEY_NAME])).rows[0]?.value;
  // Read first: made once, read on every start. Concurrent first starts agree through the primary key.
  let value = await read();
  if (value === undefined) {
    await db.query(`INSERT INTO es_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [KEY_NAME, randomBytes(32).toString('hex')]);
    value = await read();
  }
  return Buffer.from(value!, 'hex');
};

export const loadEmailStreams = async (db: SqlDatabase): Promise<EmailStreams> => keyedEmailStreams(await loadEmailReservationKey(db));
