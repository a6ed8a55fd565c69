import { randomUUID } from 'node:crypto';
import type { CommandContext, CommandOutcome } from '../commands/pipeline';
import { DomainError } from '../domain/shared/decider';
import type { Logger } from '../log';

/**
 * A job the server runs every `intervalMs` (the scheduler, reminders, manager reports). Runs never
 * overlap within one instance; `tick()` runs it now (tests drive the jobs this way); a failed run
 * is logged and the next one comes at the usual time.
 */
/** Told of every run of a periodic job (metrics): which job, whether it finished, how long it took. */
export type JobRunObserver = (job: string, outcome: 'ok' | 'failed', seconds: number) => void;

export class PeriodicJob<Report> {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<Report> | null = null;
  private stopped = true;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly run: () => Promise<Report>,
    private readonly logger: Logger,
    /** From `start()` to the first run (default: one interval). */
    private readonly firstDelayMs: number = intervalMs,
    private readonly onRun?: JobRunObserver,
  ) {}

  start(): void {
    this.stopped = false;
    const loop = (delayMs: number = this.intervalMs) => {
      this.timer = setTimeout(() => {
        void this.tick()
          .catch((error: unknown) => this.logger.error({ err: error, job: this.name }, `${this.name} failed; it will run again`))
          .finally(() => {
            if (!this.stopped) loop();
          });
      }, delayMs);
      this.timer.unref();
    };
    loop(this.firstDelayMs);
  }

  /** Stops the loop and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.allSettled([this.running]);
  }

  tick(): Promise<Report> {
    if (!this.running) {
      const started = process.hrtime.bigint();
      const observe = (outcome: 'ok' | 'failed') => this.onRun?.(this.name, outcome, Number(process.hrtime.bigint() - started) / 1e9);
      this.running = this.run()
        .then(
          (report) => {
            observe('ok');
            return report;
          },
          (error: unknown) => {
            observe('failed');
            throw error;
          },
        )
        .finally(() => {
          this.running = null;
        });
    }
    return this.running;
  }
}

/**
 * The context of a move the system makes by itself: a system actor, the reason it is recorded with,
 * and an idempotency key naming the move, so that several instances making it record it once.
 */
export const systemMove = (actorId: string, now: Date, key: string, reason: string): CommandContext => ({
  actor: { id: actorId, role: 'system' },
  now: now.toISOString(),
  correlationId: randomUUID(),
  reason,
  idempotencyKey: key,
});

/**
 * Runs a system move: true when this call recorded it; false when another instance (or an earlier
 * run) already had, or the domain refused it as no longer due (logged at debug level).
 */
export const recordOnce = async (logger: Logger, key: string, run: () => Promise<CommandOutcome>): Promise<boolean> => {
  try {
    const outcome = await run();
    return !outcome.duplicate && outcome.events.length > 0;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    logger.debug({ key, code: error.code, message: error.message }, 'Scheduled move not made');
    return false;
  }
};
