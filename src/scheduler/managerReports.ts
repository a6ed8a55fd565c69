import type { CommandPipeline } from '../commands/pipeline';
import { biweeklyPeriod, managerReportDecider, managerReportStream, type ManagerReportLine } from '../domain/report/managerReport';
import { PeriodicJob, recordOnce, systemMove, type JobRunObserver } from './periodicJob';
import type { Logger } from '../log';
import { MANAGER_REPORT_ROLE_LABELS, MANAGER_REPORT_STATUS_LABELS, type SqlManagerReportQueries } from '../../projections/managerReport/managerReport.queries';

/**
 * Every two weeks, each manager with employees taking part as mentors is sent their report (seed
 * 004), as a `ManagerReportIssued` event that the notification outbox turns into an e-mail with the
 * CSV attached. Once per manager and period, whichever instance gets there first.
 */
export class ManagerReportScheduler {
  private readonly job: PeriodicJob<{ sent: number; skipped: number }>;

  constructor(
    private readonly options: {
      readonly pipeline: CommandPipeline;
      readonly reports: Pick<SqlManagerReportQueries, 'managers' | 'report'>;
      readonly clock: () => Date;
      readonly logger: Logger;
      /** Told of every run (metrics). */
      readonly onRun?: JobRunObserver;
      /** Between runs (default an hour; each manager's report is issued once per two-week period). */
      readonly intervalMs?: number;
      /** From start to the first run (default: one interval). */
      readonly firstRunDelayMs?: number;
    },
  ) {
    this.job = new PeriodicJob('Manager reports', options.intervalMs ?? 3_600_000, () => this.run(), options.logger, options.firstRunDelayMs, options.onRun);
  }

  start(): void {
    this.job.start();
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  /** Issues this period's report to every manager who has not had it yet. */
  tick(): Promise<{ sent: number; skipped: number }> {
    return this.job.tick();
  }

  private async run(): Promise<{ sent: number; skipped: number }> {
    const now = this.options.clock();
    const period = biweeklyPeriod(now.toISOString());
    let sent = 0;
    let skipped = 0;
    for (const managerEmail of await this.options.reports.managers()) {
      const lines: ManagerReportLine[] = (await this.options.reports.report(managerEmail, now.toISOString())).map((row) => ({
        matchingStatus: MANAGER_REPORT_STATUS_LABELS[row.status],
        role: MANAGER_REPORT_ROLE_LABELS[row.role],
        upcomingMeetings: row.upcomingMeetings,
        completedMeetings: row.completedMeetings,
        program: row.program,
        company: row.company,
        mentorName: row.mentorName,
        mentorEmail: row.mentorEmail,
        mentorUserId: row.mentorUserId,
        registered: row.registered,
        menteeName: row.menteeName,
        matchDate: row.matchDate,
      }));
      const key = `manager-report:${managerEmail}:${period}`;
      const context = systemMove('manager-report-scheduler', now, key, `Bi-weekly manager report for ${period}`);
      const issued = await recordOnce(this.options.logger, key, () =>
        this.options.pipeline.execute(context, {
          name: 'IssueManagerReport',
          streams: { report: { streamId: managerReportStream(managerEmail), decider: managerReportDecider } },
          decide: ({ report }) => ({
            report: managerReportDecider.decide({ type: 'IssueManagerReport', data: { managerEmail, period, lines } }, report.state),
          }),
        }),
      );
      if (issued) sent++;
      else skipped++;
    }
    if (sent > 0) this.options.logger.info({ sent, period }, 'Manager reports issued');
    return { sent, skipped };
  }
}
