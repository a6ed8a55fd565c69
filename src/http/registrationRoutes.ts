import type { ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { localDate } from '../export/matchesCsv';
import { writeParticipationDatesCsv, writeRegistrationsCsv } from '../export/registrationsCsv';
import type { InitiativeReadModel } from '../../projections/registrationQueries';
import type { HttpRoute, RouteCaller } from './routes';

/**
 * Seed 003's exports as plain HTTP downloads, shaped like `matchesExportRoute`:
 * `GET /exports/registrations.csv?initiativeId=` and `GET /exports/participation-dates.csv?initiativeId=`
 * (without initiativeId: every initiative).
 */

export const REGISTRATIONS_EXPORT_PATH = '/exports/registrations.csv';
export const PARTICIPATION_DATES_EXPORT_PATH = '/exports/participation-dates.csv';
/** Initiatives' staff and the read-only roles. */
export const REGISTRATION_EXPORT_ROLES: readonly string[] = ['admin', 'coordinator', 'auditor', 'analyst'];

export interface RegistrationExportRouteOptions {
  readonly readModel: Pick<InitiativeReadModel, 'initiative' | 'registrationsForExport' | 'participationDatesForExport'>;
  readonly authenticate: (request: IncomingMessage) => Promise<RouteCaller | null> | RouteCaller | null;
  readonly clock?: () => Date;
  readonly onError?: (error: unknown) => void;
}

type RouteErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'VALIDATION_FAILED' | 'NOT_FOUND' | 'INTERNAL';
const STATUS_OF: Readonly<Record<RouteErrorCode, number>> = { UNAUTHENTICATED: 401, FORBIDDEN: 403, VALIDATION_FAILED: 400, NOT_FOUND: 404, INTERNAL: 500 };

const sendError = (response: ServerResponse, code: RouteErrorCode, message: string, extra: Record<string, unknown> = {}): void => {
  const body = JSON.stringify({ error: { code, message, ...extra } });
  response.writeHead(STATUS_OF[code], {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...(code === 'UNAUTHENTICATED' ? { 'www-authenticate': 'Bearer' } : {}),
  });
  response.end(body);
};

const fileNamePart = (text: string): string => text.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 100);

async function* resumed<T>(first: IteratorResult<T>, iterator: AsyncIterator<T>): AsyncGenerator<T> {
  for (let next = first; !next.done; next = await iterator.next()) yield next.value;
}

const exportRoute = <Row>(
  path: string,
  what: string,
  fileName: string,
  rows: (readModel: RegistrationExportRouteOptions['readModel'], initiativeId: string | null) => AsyncIterable<Row>,
  write: (rows: AsyncIterable<Row>, output: Writable) => Promise<void>,
) =>
  (options: RegistrationExportRouteOptions): HttpRoute => ({
    method: 'GET',
    path,
    handle: async (request, response, url) => {
      const clock = options.clock ?? (() => new Date());
      try {
        let caller: RouteCaller | null;
        try {
          caller = await options.authenticate(request);
        } catch (error) {
          if (error instanceof Error && (error as Error & { code?: unknown }).code === 'UNAUTHENTICATED') {
            return sendError(response, 'UNAUTHENTICATED', `The request could not be authenticated: ${error.message}`);
          }
          throw error;
        }
        if (caller === null) return sendError(response, 'UNAUTHENTICATED', `Exporting ${what} needs a bearer token: send "Authorization: Bearer <token>".`);
        if (!REGISTRATION_EXPORT_ROLES.includes(caller.role)) {
          return sendError(response, 'FORBIDDEN', `The ${caller.role} role cannot export ${what}; ${REGISTRATION_EXPORT_ROLES.join(', ')} can.`);
        }
        const initiativeId = url.searchParams.get('initiativeId')?.trim() || null;
        let timeZone = 'UTC';
        if (initiativeId !== null) {
          const initiative = await options.readModel.initiative(initiativeId);
          if (initiative === null) return sendError(response, 'NOT_FOUND', `There is no initiative ${initiativeId}.`, { field: 'initiativeId' });
          timeZone = initiative.timeZone;
        }
        const iterator = rows(options.readModel, initiativeId)[Symbol.asyncIterator]();
        const first = await iterator.next();
        const date = localDate(clock().toISOString(), timeZone);
        response.writeHead(200, {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="${fileName}-${initiativeId === null ? 'all' : fileNamePart(initiativeId)}-${date}.csv"`,
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
        });
        await write(resumed(first, iterator), response);
      } catch (error) {
        options.onError?.(error);
        if (response.headersSent) response.destroy(error instanceof Error ? error : undefined);
        else sendError(response, 'INTERNAL', 'The export failed on the server; try again, and tell the administrators if it keeps failing.');
      }
    },
  });

/** "Initiatives - Registrations follow-up". */
export const registrationsExportRoute = exportRoute(
  REGISTRATIONS_EXPORT_PATH,
  'registrations',
  'registrations',
  (readModel, initiativeId) => readModel.registrationsForExport(initiativeId),
  writeRegistrationsCsv,
);

/** "Initiatives - Participation dates follow-up". */
export const participationDatesExportRoute = exportRoute(
  PARTICIPATION_DATES_EXPORT_PATH,
  'participation dates',
  'participation-dates',
  (readModel, initiativeId) => readModel.participationDatesForExport(initiativeId),
  writeParticipationDatesCsv,
);
