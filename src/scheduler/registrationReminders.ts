import type { InitiativeCommands } from '../application/initiativeCommands';
import { PeriodicJob, recordOnce, systemMove, type JobRunObserver } from './periodicJob';
import type { ReminderKind } from '../domain/initiative';
import type { Logger } from '../log';

/**
 * Seed 003's reminders, sent by the server itself and recorded as the system's events: monthly to a
 * volunteer searching for a mentee, quarterly to one in progress (with a summary of the engagement
 * dates). The e-mails go out through the notification outbox.
 *
 * Once per period, even with several server instances: the read model only proposes what is due;
 * each reminder is a command whose decision refuses a second one for the same period, appended with
 * the stream's expected revision and an idempotency key naming the registration, kind and period.
 */

export interface ReminderQueries {
  dueReminders(now: string, limit: number): Promise<readonly { readonly registrationId: string; readonly kind: ReminderKind; readonly period: string }[]>;
}

export interface ReminderReport {
  readonly sent: number;
  /** Reminders another instance (or an earlier tick) had already sent, or that were no longer due. */
  readonly skipped: number;
}

export interface RegistrationRemindersOptions {
  readonly commands: Pick<InitiativeCommands, 'sendReminder'>;
  readonly queries: ReminderQueries;
  readonly clock: () => Date;
  readonly logger: Logger;
  /** Told of every run (metrics). */
  readonly onRun?: JobRunObserver;
  /** Between ticks (default: an hour; a reminder is due for a whole month or quarter). */
  readonly intervalMs?: number;
  /** From start to the first tick (default: one interval). */
  readonly firstRunDelayMs?: number;
  /** Reminders per tick; the rest go out on the next ones. */
  readonly batchSize?: number;
}

export class RegistrationReminderScheduler {
  private readonly job: PeriodicJob<ReminderReport>;

  constructor(private readonly options: RegistrationRemindersOptions) {
    this.job = new PeriodicJob('Registration reminders', options.intervalMs ?? 3_600_000, () => this.runTick(), options.logger, options.firstRunDelayMs, options.onRun);
  }

  start(): void {
    this.job.start();
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  /** One pass over the reminders due now. Ticks never overlap within one instance. */
  tick(): Promise<ReminderReport> {
    return this.job.tick();
  }

  private async runTick(): Promise<ReminderReport> {
    const report = { sent: 0, skipped: 0 };
    const now = this.options.clock().toISOString();
    for (const { registrationId, kind, period } of await this.options.queries.dueReminders(now, this.options.batchSize ?? 100)) {
      const key = `reminder:${registrationId}:${kind}:${period}`;
      const reason =
        kind === 'MONTHLY_SEARCH' ? `Monthly reminder while searching for a mentee (${period}).` : `Quarterly reminder while in progress (${period}).`;
      const context = systemMove('registration-reminders', this.options.clock(), key, reason);
      if (await recordOnce(this.options.logger, key, () => this.options.commands.sendReminder(context, registrationId, kind, period))) report.sent++;
      else report.skipped++;
    }
    if (report.sent > 0) this.options.logger.info(report, 'Registration reminders sent');
    return report;
  }
}
