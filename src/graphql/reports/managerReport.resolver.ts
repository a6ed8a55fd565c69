import { Arg, Authorized, Ctx, Field, Int, ObjectType, Query, registerEnumType, Resolver } from 'type-graphql';
import { DomainError } from '../../domain/shared/decider';
import {
  MANAGER_REPORT_STATUS_LABELS,
  type ManagerReportRole,
  type ManagerReportRow,
  type ManagerReportStatus,
} from '../../../projections/managerReport/managerReport.queries';
import { assertCanSee } from '../access';
import { requireActor } from '../context';
import type { Context } from '../lifecycle/services';
import { consistentRead } from '../lifecycle/support';
import { recordRead } from '../readAudit';

/** The report's matching-status categories (seed 004), as a GraphQL enum. */
export const MANAGER_REPORT_STATUS_ENUM: { readonly [K in ManagerReportStatus]: K } = {
  MATCHED_ACTIVE: 'MATCHED_ACTIVE',
  UNMATCHED: 'UNMATCHED',
  MATCHED_DURATION_COMPLETED: 'MATCHED_DURATION_COMPLETED',
  CONCLUDED: 'CONCLUDED',
  MATCH_REQUEST_WAITING_MENTEE_APPROVAL: 'MATCH_REQUEST_WAITING_MENTEE_APPROVAL',
  MATCH_REQUEST_WAITING_MENTOR_APPROVAL: 'MATCH_REQUEST_WAITING_MENTOR_APPROVAL',
  MATCH_REQUEST_WAITING_2_APPROVALS: 'MATCH_REQUEST_WAITING_2_APPROVALS',
  MATCH_REQUEST_WAITING_ADMIN_APPROVAL: 'MATCH_REQUEST_WAITING_ADMIN_APPROVAL',
  NOT_REGISTERED: 'NOT_REGISTERED',
};
registerEnumType(MANAGER_REPORT_STATUS_ENUM, {
  name: 'ManagerReportStatus',
  description: 'The matching-status categories of the manager report (seed 004).',
  valuesConfig: Object.fromEntries(
    Object.entries(MANAGER_REPORT_STATUS_LABELS).map(([status, label]) => [status, { description: `"${label}"` }]),
  ) as never,
});

export const MANAGER_REPORT_ROLE_ENUM: { readonly [K in ManagerReportRole]: K } = { MENTOR: 'MENTOR', MENTEE: 'MENTEE' };
registerEnumType(MANAGER_REPORT_ROLE_ENUM, {
  name: 'ManagerReportRole',
  description: 'How the employee on a manager report row takes part: as a mentor or as a mentee.',
});

@ObjectType('ManagerReportRow', {
  description: 'One employee taking part in a program, as a mentor or as a mentee (seed 004). The name of a mentee is never shown.',
})
export class ManagerReportRowType {
  @Field({ description: 'Matching status, as the report words it (Matched-Active, Unmatched, ...).' })
  matchingStatus!: string;

  @Field(() => MANAGER_REPORT_STATUS_ENUM, { description: 'The same as a stable code.' })
  statusCode!: ManagerReportStatus;

  @Field(() => MANAGER_REPORT_ROLE_ENUM, { description: 'The employee\'s role; on a MENTEE row, mentorName and mentorEmail are the employee\'s own.' })
  role!: ManagerReportRole;

  @Field(() => Int)
  upcomingMeetings!: number;

  @Field(() => Int)
  completedMeetings!: number;

  @Field()
  program!: string;

  @Field({ description: 'Current Company/Organization.' })
  company!: string;

  @Field({ description: 'The employee: the mentor, or on a MENTEE row the employee taking part as mentee.' })
  mentorName!: string;

  @Field({ description: 'The employee\'s e-mail address (see mentorName).' })
  mentorEmail!: string;

  @Field({ description: 'Registered (MM-DD-YYYY).' })
  registered!: string;

  @Field({ description: 'The placeholder "Mentee" where the row is about a match, blank for Unmatched and Not Registered: a name is never shown.' })
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
