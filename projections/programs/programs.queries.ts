import { DEFAULT_PROGRAM_SETTINGS, type AutoMatchingConfiguration, type NotificationKind, type NotificationTemplate, type ProgramSettings, type Site } from '../../src/domain';
import type { SqlExecutor } from '../../src/sql/sqlDatabase';
import type { ProgramView } from '../lifecycle/lifecycle.types';
import { isoTimestamp } from '../shared/projectionSupport';

/**
 * How the programs read model is read: its table, its columns and rows as the queries select
 * them, and the single-table queries. Queries that join programs with other read models (matching,
 * meetings, the manager report) take the table and columns from here, so this folder is the one
 * place that names them.
 */

/** The table `programsProjection` keeps (one row a program). */
export const PROGRAMS_TABLE = 'rm_programs';

/** A program row as `PROGRAM_COLUMNS` selects it. */
export interface ProgramRow {
  program_id: string;
  name: string;
  time_zone: string;
  /** Rows projected before a setting existed lack it. */
  settings: Partial<ProgramSettings>;
  partner_sites: Site[];
  mentor_site_lists: Site[];
  closure_reasons: string[];
  notification_templates: Partial<Record<NotificationKind, NotificationTemplate>>;
  auto_matching: AutoMatchingConfiguration;
  banned_pairs: { mentorUserId: string; menteeUserId: string }[];
  created_at: string;
  updated_at: string;
}

export const PROGRAM_COLUMNS = `program_id, name, time_zone, settings, partner_sites, mentor_site_lists, closure_reasons, notification_templates,
  auto_matching, banned_pairs,
  ${isoTimestamp('created_at')} AS created_at, ${isoTimestamp('updated_at')} AS updated_at`;

/** The program's own mentor capacity setting, as SQL on the program row aliased `alias` (null where unset). */
export const programMentorCapacity = (alias: string): string => `(${alias}.settings->>'mentorCapacity')::integer`;

export const toProgram = (row: ProgramRow): ProgramView => ({
  programId: row.program_id,
  name: row.name,
  timeZone: row.time_zone,
  // Rows projected before a setting existed read as its default, as the decider folds them.
  settings: { ...DEFAULT_PROGRAM_SETTINGS, ...row.settings },
  partnerSites: row.partner_sites,
  mentorSiteLists: row.mentor_site_lists,
  closureReasons: row.closure_reasons,
  notificationTemplates: row.notification_templates,
  autoMatching: row.auto_matching,
  bannedPairs: row.banned_pairs,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export class SqlProgramQueries {
  constructor(private readonly db: SqlExecutor) {}

  async program(programId: string): Promise<ProgramView | null> {
    const { rows } = await this.db.query<ProgramRow>(`SELECT ${PROGRAM_COLUMNS} FROM ${PROGRAMS_TABLE} WHERE program_id = $1`, [programId]);
    return rows[0] ? toProgram(rows[0]) : null;
  }

  async programs(): Promise<readonly ProgramView[]> {
    const { rows } = await this.db.query<ProgramRow>(`SELECT ${PROGRAM_COLUMNS} FROM ${PROGRAMS_TABLE} ORDER BY name, program_id`);
    return rows.map(toProgram);
  }

  /** Name and time zone of one program, without its settings. */
  async summary(programId: string): Promise<{ programId: string; name: string; timeZone: string } | null> {
    const { rows } = await this.db.query<{ program_id: string; name: string; time_zone: string }>(
      `SELECT program_id, name, time_zone FROM ${PROGRAMS_TABLE} WHERE program_id = $1`,
      [programId],
    );
    return rows[0] ? { programId: rows[0].program_id, name: rows[0].name, timeZone: rows[0].time_zone } : null;
  }
}
