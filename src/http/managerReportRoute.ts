import type { IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';
import type { ManagerReportRow, SqlManagerReportQueries } from '../../projections/managerReport/managerReport.queries';
import { visibility, type Viewer } from '../domain/access/policy';
import { managerReportCsv, pseudonymisedManagerReportRow } from '../reports/managerReportCsv';
import type { Pseudonyms } from '../audit/pseudonyms';
import { csvDownloadRoute, refusal, type HttpRoute, type RouteCaller, type RouteReadAudit } from './routes';

export const MANAGER_REPORT_PATH = '/exports/manager-report.csv';

export interface ManagerReportRouteOptions {
  readonly reports: Pick<SqlManagerReportQueries, 'report'>;
  /** The caller (token subject and role), or null without valid credentials. */
  readonly authenticate: (request: IncomingMessage) => Promise<RouteCaller | null>;
  readonly clock: () => Date;
  /** Records each staff download (default: none). */
  readonly readAudit?: RouteReadAudit;
  /** Analysts' pseudonyms; without them analysts need `personal-data:raw` to download. */
  readonly pseudonyms?: Pseudonyms | null;
}

/** The report is small (one manager's team): written whole, with a byte-order mark for spreadsheets. */
const writeReport = async (rows: AsyncIterable<ManagerReportRow>, output: Writable): Promise<void> => {
  const all: ManagerReportRow[] = [];
  for await (const row of rows) all.push(row);
  output.end(`\uFEFF${managerReportCsv(all)}`);
};

async function* each<T>(items: Promise<readonly T[]>): AsyncGenerator<T> {
  yield* await items;
}

/**
 * GET /exports/manager-report.csv: a manager downloads the report about their own employees; admins,
 * auditors and analysts add `?managerEmail=`.
 */
export const managerReportRoute = (options: ManagerReportRouteOptions): HttpRoute =>
  csvDownloadRoute<ManagerReportRow>({
    path: MANAGER_REPORT_PATH,
    what: 'the manager report',
    roles: ['manager', 'admin', 'auditor', 'analyst'],
    authenticate: options.authenticate,
    pseudonymise: options.pseudonyms ? { pseudonyms: options.pseudonyms, row: pseudonymisedManagerReportRow } : null,
    ...(options.readAudit ? { readAudit: options.readAudit } : {}),
    prepare: async (url, caller) => {
      const asked = url.searchParams.get('managerEmail')?.trim() || null;
      const manager = asked ?? (caller.role === 'manager' ? (caller.id ?? '') : null);
      if (manager === null) return refusal('VALIDATION_FAILED', "Add ?managerEmail=<the manager's e-mail> to the address.", { field: 'managerEmail' });
      const viewer: Viewer = { role: caller.role as Viewer['role'], actorId: caller.id ?? '', programIds: [], matches: [] };
      if (!visibility(viewer, 'managerReportRow', { managerEmail: manager }).visible) {
        return refusal('FORBIDDEN', 'A manager can download only the report about their own employees.');
      }
      const now = options.clock().toISOString();
      return { rows: each(options.reports.report(manager, now)), fileName: `manager-report-${now.slice(0, 10)}.csv`, write: writeReport };
    },
  });
