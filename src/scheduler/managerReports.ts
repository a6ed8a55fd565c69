import { randomUUID } from 'node:crypto';
import type { CommandPipeline } from '../commands/pipeline';
import { biweeklyPeriod, managerReportDecider, managerReportStream, type ManagerReportLine } from '../domain/report/managerReport';
import { DomainError } from '../domain/shared/decider';
import type { Logger } from '../log';
import { MANAGER_REPORT_STATUS_LABELS, type SqlManagerReportQueries } from '../../projections/managerReportQueries';

/**
 * Every two weeks, each manager with employees taking part as mentors is sent their report (seed
 * 004), as a `ManagerReportIssued` event that the notification outbox turns into an e-mail with the
 * CSV attached. Once per manager and period, whichever instance gets there first.
 */
export class ManagerReportScheduler {
  constructor(
    private readonly options: {
      readonly pipeline: CommandPipeline;
      readonly reports: Pick<SqlManagerReportQueries, 'managers' | 'report'>;
      readonly clock: () => Date;
      readonly logger: Logger;
    },
  ) {}

  async tick(): Promise<{ sent: number; skipped: number }> {
    const now = this.options.clock().toISOString();
    const period = biweeklyPeriod(now);
    let sent = 0;
    let skipped = 0;
    for (const managerEmail of await this.options.reports.managers()) {
      const lines: ManagerReportLine[] = (await this.options.reports.report(managerEmail, now)).map((row) => ({
        matchingStatus: MANAGER_REPORT_STATUS_LABELS[row.status],
        upcomingMeetings: row.upcomingMeetings,
        completedMeetings: row.completedMeetings,
        program: row.program,
        company: row.company,
        mentorName: row.mentorName,
        mentorEmail: row.mentorEmail,
        registered: row.registered,
        menteeName: row.menteeName,
        matchDate: row.matchDate,
      }));
      try {
        const outcome = await this.options.pipeline.execute(
          {
            actor: { id: 'manager-report-scheduler', role: 'system' },
            now,
            correlationId: randomUUID(),
            reason: `Bi-weekly manager report for ${period}`,
            idempotencyKey: `manager-report:${managerEmail}:${period}`,
          },
          {
            name: 'IssueManagerReport',
            streams: { report: { streamId: managerReportStream(managerEmail), decider: managerReportDecider } },
            decide: ({ report }) => ({
              report: managerReportDecider.decide({ type: 'IssueManagerReport', data: { managerEmail, period, lines } }, report.state),
            }),
          },
        );
        if (outcome.duplicate || outcome.events.length === 0) skipped++;
        else sent++;
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        skipped++;
      }
    }
    if (sent > 0) this.options.logger.info({ sent, period }, 'Manager reports issued');
    return { sent, skipped };
  }
}
