import type { AttributeValue } from '../../src/domain';
import type { SqlExecutor } from '../../src/sql/sqlDatabase';
import { MATCHES_TABLE } from '../matches/matches.queries';
import { PERSONAS_TABLE, USERS_TABLE } from '../users/users.queries';

/** What auto-matching reads beyond the funnel: profiles, reporting lines and who was matched before. */

export interface ParticipantFacts {
  readonly userId: string;
  readonly name: string;
  readonly email: string;
  readonly managerEmail: string | null;
  readonly profile: Readonly<Record<string, AttributeValue>>;
}

export class SqlAutoMatchingQueries {
  constructor(private readonly db: SqlExecutor) {}

  async participants(userIds: readonly string[]): Promise<Map<string, ParticipantFacts>> {
    if (userIds.length === 0) return new Map();
    const { rows } = await this.db.query<{ user_id: string; name: string; email: string; manager_email: string | null; profile: Record<string, AttributeValue> }>(
      `SELECT user_id, name, email, manager_email, profile FROM ${USERS_TABLE} WHERE user_id = ANY($1::text[])`,
      [userIds],
    );
    return new Map(
      rows.map((row) => [row.user_id, { userId: row.user_id, name: row.name, email: row.email, managerEmail: row.manager_email, profile: row.profile ?? {} }]),
    );
  }

  async personaProgram(personaId: string): Promise<string | null> {
    const { rows } = await this.db.query<{ program_id: string }>(`SELECT program_id FROM ${PERSONAS_TABLE} WHERE persona_id = $1`, [personaId]);
    return rows[0]?.program_id ?? null;
  }

  /** Every known person's manager, by lower-cased e-mail, to walk reporting lines upward. */
  async managerByEmail(): Promise<Map<string, string>> {
    const { rows } = await this.db.query<{ email: string; manager_email: string }>(
      `SELECT lower(email) AS email, lower(manager_email) AS manager_email FROM ${USERS_TABLE} WHERE manager_email IS NOT NULL`,
      [],
    );
    return new Map(rows.map((row) => [row.email, row.manager_email]));
  }

  /** Pairs of users (mentor, mentee) who were ever in a live match together, in any program. */
  async previousPairs(mentorUserIds: readonly string[]): Promise<Set<string>> {
    if (mentorUserIds.length === 0) return new Set();
    const { rows } = await this.db.query<{ mentor_user_id: string; mentee_user_id: string }>(
      `SELECT DISTINCT mentor_user_id, mentee_user_id FROM ${MATCHES_TABLE}
        WHERE mentor_user_id = ANY($1::text[]) AND status IN ('ACTIVE', 'COMPLETED', 'CLOSED')`,
      [mentorUserIds],
    );
    return new Set(rows.map((row) => pairKey(row.mentor_user_id, row.mentee_user_id)));
  }
}

export const pairKey = (mentorUserId: string, menteeUserId: string): string => `${mentorUserId} ${menteeUserId}`;
