import { randomUUID } from 'node:crypto';
import type { InitiativeCommands } from '../application/initiativeCommands';
import type { CommandContext } from '../commands/pipeline';
import { DomainError } from '../domain/shared/decider';
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
  /** Between ticks (default: an hour; a reminder is due for a whole month or quarter). */
  readonly intervalMs?: number;
  /** Reminders per tick; the rest go out on the next ones. */
  readonly batchSize?: number;
}

const SYSTEM_ACTOR = { id: 'registration-reminders', role: 'system' } as const;

export class RegistrationReminderScheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<ReminderReport> | null = null;
  private stopped = false;

  constructor(private readonly options: RegistrationRemindersOptions) {}

  start(): void {
    this.stopped = false;
    const interval = this.options.intervalMs ?? 3_600_000;
    const loop = () => {
      this.timer = setTimeout(() => {
        void this.tick()
          .catch((error: unknown) => this.options.logger.error({ err: error }, 'Registration reminders tick failed; it will run again'))
          .finally(() => {
            if (!this.stopped) loop();
          });
      }, interval);
      this.timer.unref();
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.allSettled([this.running]);
  }

  /** One pass over the reminders due now. Ticks never overlap within one instance. */
  tick(): Promise<ReminderReport> {
    if (!this.running) {
      this.running = this.runTick().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  private async runTick(): Promise<ReminderReport> {
    const report = { sent: 0, skipped: 0 };
    const now = this.options.clock().toISOString();
    for (const { registrationId, kind, period } of await this.options.queries.dueReminders(now, this.options.batchSize ?? 100)) {
      const context: CommandContext = {
        actor: SYSTEM_ACTOR,
        now: this.options.clock().toISOString(),
        correlationId: randomUUID(),
        reason: kind === 'MONTHLY_SEARCH' ? `Monthly reminder while searching for a mentee (${period}).` : `Quarterly reminder while in progress (${period}).`,
        idempotencyKey: `reminder:${registrationId}:${kind}:${period}`,
      };
      try {
        const outcome = await this.options.commands.sendReminder(context, registrationId, kind, period);
        if (!outcome.duplicate && outcome.events.length > 0) report.sent++;
        else report.skipped++;
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        this.options.logger.debug({ registrationId, kind, period, code: error.code, message: error.message }, 'Reminder not sent');
        report.skipped++;
      }
    }
    if (report.sent > 0) this.options.logger.info(report, 'Registration reminders sent');
    return report;
  }
}
