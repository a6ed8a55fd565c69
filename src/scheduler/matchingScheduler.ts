import type { LifecycleCommands } from '../application/lifecycleCommands';
import type { CommandContext, CommandOutcome } from '../commands/pipeline';
import { PeriodicJob, recordOnce, systemMove, type JobRunObserver } from './periodicJob';
import type { Logger } from '../log';

/**
 * The time-based and follow-up moves of the matching workflow, made by the server itself and
 * recorded as the system's events:
 * - a match request nobody answered within the program's expiry becomes EXPIRED;
 * - a live match whose duration ran out becomes COMPLETED;
 * - once a mentee is matched, their other open requests are withdrawn and staged matches discarded.
 *
 * "Once, even with several server instances": every instance may run this loop. The read model
 * only proposes candidates; each move is a command whose decision refuses a move already made
 * (an EXPIRED request cannot expire again) and whose append carries the stream's expected revision
 * and an idempotency key naming the move, so exactly one instance records it and the others'
 * attempts change nothing.
 */

export interface SchedulerQueries {
  dueRequestExpiries(now: string, limit: number): Promise<readonly { readonly matchId: string }[]>;
  dueCompletions(now: string, limit: number): Promise<readonly { readonly matchId: string }[]>;
  /** Open (REQUESTED or STAGED) matches that can no longer go live, and why. */
  openMatchesBlockedFor(limit: number): Promise<
    readonly {
      readonly matchId: string;
      readonly status: 'REQUESTED' | 'STAGED';
      readonly reason: 'MENTEE_MATCHED' | 'PARTICIPANT_UNAVAILABLE';
      readonly otherMatchId: string | null;
    }[]
  >;
}

export interface SchedulerReport {
  readonly expired: number;
  readonly completed: number;
  readonly withdrawn: number;
  readonly discarded: number;
  /** Candidates another instance (or an earlier tick) had already handled, or that were not due after all. */
  readonly skipped: number;
}

export interface MatchingSchedulerOptions {
  readonly commands: LifecycleCommands;
  readonly queries: SchedulerQueries;
  readonly clock: () => Date;
  readonly logger: Logger;
  /** Told of every run (metrics). */
  readonly onRun?: JobRunObserver;
  /** Between ticks. */
  readonly intervalMs?: number;
  /** Candidates of each kind per tick. */
  readonly batchSize?: number;
  /** Resolves when the read models include everything appended so far (used before a follow-up sweep). */
  readonly catchUp?: () => Promise<void>;
}

export class MatchingScheduler {
  private readonly job: PeriodicJob<SchedulerReport>;
  private followUp: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly options: MatchingSchedulerOptions) {
    this.job = new PeriodicJob('Matching scheduler', options.intervalMs ?? 30_000, () => this.runTick(), options.logger, undefined, options.onRun);
  }

  start(): void {
    this.stopped = false;
    this.job.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([this.job.stop(), this.followUp]);
  }

  /** One pass over everything due now. Ticks never overlap within one instance. */
  tick(): Promise<SchedulerReport> {
    return this.job.tick();
  }

  /**
   * After a match went live: withdraw the mentee's other requests soon, without waiting for the
   * next tick. Several calls in a row share one sweep.
   */
  sweepSoon(): void {
    if (this.stopped || this.followUp) return;
    this.followUp = (async () => {
      try {
        await this.options.catchUp?.();
        await this.sweepBlocked(this.counter());
      } catch (error) {
        this.options.logger.warn({ err: error }, 'Follow-up sweep after a match went live failed; the next tick retries');
      } finally {
        this.followUp = null;
      }
    })();
  }

  private counter() {
    return { expired: 0, completed: 0, withdrawn: 0, discarded: 0, skipped: 0 };
  }

  private async runTick(): Promise<SchedulerReport> {
    const report = this.counter();
    const limit = this.options.batchSize ?? 100;
    const now = this.options.clock().toISOString();
    for (const { matchId } of await this.options.queries.dueRequestExpiries(now, limit)) {
      const done = await this.move(`expire:${matchId}`, 'The request received no answer within the program\'s expiry.', (context) =>
        this.options.commands.expireMatchRequest(context, matchId),
      );
      if (done) report.expired++;
      else report.skipped++;
    }
    for (const { matchId } of await this.options.queries.dueCompletions(now, limit)) {
      const done = await this.move(`complete:${matchId}`, 'The match ran its full duration.', (context) =>
        this.options.commands.completeMatch(context, matchId),
      );
      if (done) report.completed++;
      else report.skipped++;
    }
    await this.sweepBlocked(report);
    if (report.expired + report.completed + report.withdrawn + report.discarded > 0) {
      this.options.logger.info(report, 'Matching scheduler made its moves');
    }
    return report;
  }

  private async sweepBlocked(report: { withdrawn: number; discarded: number; skipped: number }): Promise<void> {
    const limit = this.options.batchSize ?? 100;
    for (const { matchId, status, reason, otherMatchId } of await this.options.queries.openMatchesBlockedFor(limit)) {
      // A staged match is the admin's: it is discarded only when its mentee went live elsewhere.
      if (status === 'STAGED' && reason !== 'MENTEE_MATCHED') continue;
      const why =
        reason === 'MENTEE_MATCHED'
          ? `The mentee was matched${otherMatchId ? ` (match ${otherMatchId})` : ''}.`
          : 'A participant can no longer be matched.';
      const done =
        status === 'REQUESTED'
          ? await this.move(`withdraw:${matchId}`, why, (context) =>
              this.options.commands.withdrawMatchRequest(context, { matchId, reason, otherMatchId }),
            )
          : await this.move(`discard:${matchId}`, why, (context) =>
              this.options.commands.discardStagedMatch(context, { matchId, reason, otherMatchId }),
            );
      if (!done) report.skipped++;
      else if (status === 'REQUESTED') report.withdrawn++;
      else report.discarded++;
    }
  }

  /** True when this call recorded the move; false when it was already made or is no longer due. */
  private move(key: string, reason: string, run: (context: CommandContext) => Promise<CommandOutcome>): Promise<boolean> {
    const context = systemMove('matching-scheduler', this.options.clock(), `scheduler:${key}`, reason);
    return recordOnce(this.options.logger, key, () => run(context));
  }
}
