import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CommandObserver } from '../commands/pipeline';
import type { JobRunObserver } from '../scheduler/periodicJob';

/** How far a read model is behind the log: events not applied yet, and how long the oldest has waited. */
export interface ProjectionLag {
  readonly projection: string;
  readonly events: number;
  readonly seconds: number;
}

/** What the gauges read when Prometheus scrapes (from the databases, so every instance reports the same). */
export interface MetricsSources {
  readonly projectionLag: () => Promise<readonly ProjectionLag[]>;
  /** Outbox rows per state (PENDING, SENDING, SENT, FAILED). */
  readonly outbox: () => Promise<Readonly<Record<string, number>>>;
  /** Every projection of this instance's runner, and whether its last try failed. */
  readonly projectionsFailing?: () => readonly { readonly projection: string; readonly failing: boolean }[];
}

/**
 * Prometheus metrics, one registry per app (tests run several apps in one process). Counters and
 * histograms are fed as things happen; lag and backlog are read from the databases on each scrape.
 */
export interface Metrics {
  readonly registry: Registry;
  readonly commands: CommandObserver;
  readonly jobRuns: JobRunObserver;
  /** One GraphQL operation over HTTP: its name (bounded, see `operationLabel`), type and outcome. */
  observeOperation(operation: string | null | undefined, type: string, outcome: 'ok' | 'error', seconds: number): void;
  /** One HTTP request, by route (a fixed set, never the raw path). */
  observeHttp(route: string, method: string, status: number, seconds: number): void;
  /** A projection's batch failed (rolled back; tried again after a back-off), on an event of this type when known. */
  projectionFailed(projection: string, eventType: string | null): void;
}

/** Operation names are the client's choice: past this many distinct ones, new ones count as `other`. */
const MAX_OPERATION_NAMES = 500;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;

export const createMetrics = (sources: MetricsSources): Metrics => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const seenOperations = new Set<string>();
  const operationLabel = (name: string | null | undefined): string => {
    if (!name) return 'anonymous';
    if (!OPERATION_NAME.test(name)) return 'other';
    if (seenOperations.has(name)) return name;
    if (seenOperations.size >= MAX_OPERATION_NAMES) return 'other';
    seenOperations.add(name);
    return name;
  };

  // Seconds, from a fast read to a slow export: the same scale for every request histogram.
  const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  const operations = new Histogram({
    name: 'graphql_operation_duration_seconds',
    help: 'GraphQL operations over HTTP, by operation name, type (query, mutation) and outcome (error: the response carried errors).',
    labelNames: ['operation', 'type', 'outcome'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const http = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by route, method and status.',
    labelNames: ['route', 'method', 'status'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const commandOutcomes = new Counter({
    name: 'commands_total',
    help: 'Commands by name and result (appended, replayed, unchanged, refused, conflict, failed) and, when refused, the error code.',
    labelNames: ['command', 'result', 'code'],
    registers: [registry],
  });
  const conflicts = new Counter({
    name: 'command_conflicts_total',
    help: 'Appends that found a stream changed since it was read (each is decided again, up to the retry limit).',
    labelNames: ['command'],
    registers: [registry],
  });
  const jobRuns = new Histogram({
    name: 'scheduler_run_duration_seconds',
    help: 'Runs of the periodic jobs (matching scheduler, registration reminders, manager reports), by job and outcome.',
    labelNames: ['job', 'outcome'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
    registers: [registry],
  });

  // Both lag gauges come from one read; a scrape asks them one after the other.
  let lagRead: Promise<readonly ProjectionLag[]> | null = null;
  const lag = (): Promise<readonly ProjectionLag[]> =>
    (lagRead ??= sources.projectionLag().finally(() => setImmediate(() => (lagRead = null))));
  new Gauge({
    name: 'projection_lag_events',
    help: 'Events in the log that a read model has not applied yet.',
    labelNames: ['projection'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const row of await lag()) this.set({ projection: row.projection }, row.events);
    },
  });
  new Gauge({
    name: 'projection_lag_seconds',
    help: 'How long the oldest event a read model has not applied has been in the log (0 when caught up).',
    labelNames: ['projection'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const row of await lag()) this.set({ projection: row.projection }, row.seconds);
    },
  });
  const projectionFailures = new Counter({
    name: 'projection_failures_total',
    help: 'Failed projection batches (rolled back, tried again after a back-off), by projection and the type of the event it failed on.',
    labelNames: ['projection', 'event_type'],
    registers: [registry],
  });
  new Gauge({
    name: 'projection_failing',
    help: '1 while a read model of this instance fails to apply an event (it stops there until it succeeds), else 0.',
    labelNames: ['projection'],
    registers: [registry],
    collect() {
      this.reset();
      for (const row of sources.projectionsFailing?.() ?? []) this.set({ projection: row.projection }, row.failing ? 1 : 0);
    },
  });
  new Gauge({
    name: 'outbox_messages',
    help: 'Notification e-mails in the outbox by state: PENDING and SENDING are the backlog, FAILED gave up.',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      const counts = await sources.outbox();
      for (const state of ['PENDING', 'SENDING', 'SENT', 'FAILED']) this.set({ state }, counts[state] ?? 0);
    },
  });

  return {
    registry,
    commands: {
      outcome: (command, result, code) => commandOutcomes.inc({ command, result, code: code ?? '' }),
      conflict: (command) => conflicts.inc({ command }),
    },
    jobRuns: (job, outcome, seconds) => jobRuns.observe({ job, outcome }, seconds),
    observeOperation: (operation, type, outcome, seconds) => operations.observe({ operation: operationLabel(operation), type, outcome }, seconds),
    observeHttp: (route, method, status, seconds) => http.observe({ route, method, status: String(status) }, seconds),
    projectionFailed: (projection, eventType) => projectionFailures.inc({ projection, event_type: eventType ?? '' }),
  };
};
