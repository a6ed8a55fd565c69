import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SqlManagerReportQueries } from '../../projections/managerReportQueries';
import { managerReportCsv } from '../reports/managerReportCsv';
import type { HttpRoute } from './routes';

export const MANAGER_REPORT_PATH = '/exports/manager-report.csv';

export interface ManagerReportRouteOptions {
  readonly reports: Pick<SqlManagerReportQueries, 'report'>;
  /** The caller (token subject and role), or null without valid credentials. */
  readonly authenticate: (request: IncomingMessage) => Promise<{ readonly id: string; readonly role: string } | null>;
  readonly clock: () => Date;
}

const refuse = (response: ServerResponse, status: number, code: string, message: string) => {
  const body = JSON.stringify({ error: { code, message } });
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
  });
  response.end(body);
};

/**
 * GET /exports/manager-report.csv: a manager downloads the report about their own employees; admins,
 * auditors and analysts add `?managerEmail=`.
 */
export const managerReportRoute = (options: ManagerReportRouteOptions): HttpRoute => ({
  method: 'GET',
  path: MANAGER_REPORT_PATH,
  async handle(request, response, url) {
    const caller = await options.authenticate(request);
    if (!caller) return refuse(response, 401, 'UNAUTHENTICATED', 'Sign in first: send "Authorization: Bearer <token>".');
    const asked = url.searchParams.get('managerEmail')?.trim() || null;
    let manager: string;
    if (caller.role === 'manager') {
      if (asked && asked.toLowerCase() !== caller.id.toLowerCase()) {
        return refuse(response, 403, 'FORBIDDEN', 'A manager can download only the report about their own employees.');
      }
      manager = caller.id;
    } else if (['admin', 'auditor', 'analyst'].includes(caller.role)) {
      if (!asked) return refuse(response, 400, 'VALIDATION_FAILED', 'Add ?managerEmail=<the manager\'s e-mail> to the address.');
      manager = asked;
    } else {
      return refuse(response, 403, 'FORBIDDEN', `The manager report is for managers, admins, auditors and analysts; your token has role ${caller.role}.`);
    }
    const rows = await options.reports.report(manager, options.clock().toISOString());
    const body = `\uFEFF${managerReportCsv(rows)}`;
    const date = options.clock().toISOString().slice(0, 10);
    response.writeHead(200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="manager-report-${date}.csv"`,
      'cache-control': 'no-store',
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  },
});
