import { Arg, Authorized, Ctx, Field, Int, ObjectType, Query, Resolver } from 'type-graphql';
import { DomainError } from '../../domain/shared/decider';
import { MANAGER_REPORT_STATUS_LABELS, type ManagerReportRow, type ManagerReportStatus } from '../../../projections/managerReportQueries';
import { assertCanSee } from '../access';
import { requireActor } from '../context';
import type { Context } from '../lifecycle/services';
import { consistentRead } from '../lifecycle/support';
import { recordRead } from '../readAudit';

@ObjectType('ManagerReportRow', { description: 'One employee taking part as a mentor (seed 004). The mentee\'s name is never shown.' })
export class ManagerReportRowType {
  @Field({ description: 'Matching status, as the report words it (Matched-Active, Unmatched, ...).' })
  matchingStatus!: string;

  @Field({ description: 'The same as a stable code (MATCHED_ACTIVE, MATCH_REQUEST_WAITING_2_APPROVALS, NOT_REGISTERED, ...).' })
  statusCode!: ManagerReportStatus;

  @Field(() => Int)
  upcomingMeetings!: number;

  @Field(() => Int)
  completedMeetings!: number;

  @Field()
  program!: string;

  @Field({ description: 'Current Company/Organization.' })
  company!: string;

  @Field()
  mentorName!: string;

  @Field()
  mentorEmail!: string;

  @Field({ description: 'Registered (MM-DD-YYYY).' })
  registered!: string;

  @Field({ description: 'Always the placeholder "Mentee": hidden for security and privacy.' })
  menteeName!: string;

  @Field({ description: 'MM-DD-YYYY; blank for unmatched or concluded connections.' })
  matchDate!: string;

  /** Whose report the row is part of, for the access policy. */
  managerEmail!: string;
}

export const asReportRow = (row: ManagerReportRow, managerEmail: string): ManagerReportRowType =>
  Object.assign(new ManagerReportRowType(), {
    ...row,
    managerEmail,
    statusCode: row.status,
    matchingStatus: MANAGER_REPORT_STATUS_LABELS[row.status],
  });

/** Whose report the caller asks for (a manager's own by default: their token's subject is their e-mail), if the policy lets them read it. */
export const reportManagerFor = async (context: Context, managerEmail: string | undefined | null): Promise<string> => {
  const actor = requireActor(context);
  const manager = managerEmail?.trim() || (actor.role === 'manager' ? actor.id : null);
  if (!manager) {
    throw new DomainError('VALIDATION_FAILED', 'Name the manager (managerEmail) whose report you want.', { field: 'managerEmail' });
  }
  await assertCanSee(context, 'managerReportRow', { managerEmail: manager }, 'A manager can read only the report about their own employees.');
  return manager;
};

@Resolver()
export class ManagerReportResolver {
  @Authorized('manager', 'admin', 'auditor', 'analyst')
  @Query(() => [ManagerReportRowType], {
    description:
      'The manager report (seed 004): a manager\'s employees taking part as mentors. Managers get their own (managerEmail optional); ' +
      'admins, auditors and analysts name the manager. Also as CSV at GET /exports/manager-report.csv.',
  })
  async managerReport(@Ctx() context: Context, @Arg('managerEmail', () => String, { nullable: true }) managerEmail?: string) {
    const manager = await reportManagerFor(context, managerEmail);
    await consistentRead(context);
    const rows = await context.services.managerReports.report(manager, context.now().toISOString());
    for (const row of rows) {
      recordRead(context, { kind: 'REPORT_ROW', objectId: row.mentorUserId, subjectUserId: row.mentorUserId, via: 'Query.managerReport' });
    }
    return rows.map((row) => asReportRow(row, manager));
  }
}
