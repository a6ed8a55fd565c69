import type { Writable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { localDate } from '../export/matchesCsv';
import { pseudonymisedRegistrationRow, writeParticipationDatesCsv, writeRegistrationsCsv } from '../export/registrationsCsv';
import type { Pseudonyms } from '../audit/pseudonyms';
import type { InitiativeReadModel } from '../../projections/registrations/registrations.queries';
import { csvDownloadRoute, fileNamePart, refusal, type HttpRoute, type RouteCaller, type RouteReadAudit } from './routes';

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
  /** Records each staff download (default: none). */
  readonly readAudit?: RouteReadAudit;
  /** Analysts' pseudonyms; without them analysts need `personal-data:raw` to download. */
  readonly pseudonyms?: Pseudonyms | null;
}

const exportRoute = <Row extends Parameters<typeof pseudonymisedRegistrationRow>[0]>(
  path: string,
  what: string,
  fileName: string,
  rows: (readModel: RegistrationExportRouteOptions['readModel'], initiativeId: string | null) => AsyncIterable<Row>,
  write: (rows: AsyncIterable<Row>, output: Writable) => Promise<void>,
) =>
  (options: RegistrationExportRouteOptions): HttpRoute =>
    csvDownloadRoute<Row>({
      path,
      what,
      roles: REGISTRATION_EXPORT_ROLES,
      authenticate: options.authenticate,
      pseudonymise: options.pseudonyms ? { pseudonyms: options.pseudonyms, row: pseudonymisedRegistrationRow<Row> } : null,
      ...(options.onError ? { onError: options.onError } : {}),
      ...(options.readAudit ? { readAudit: options.readAudit } : {}),
      prepare: async (url) => {
        const clock = options.clock ?? (() => new Date());
        const initiativeId = url.searchParams.get('initiativeId')?.trim() || null;
        let timeZone = 'UTC';
        if (initiativeId !== null) {
          const initiative = await options.readModel.initiative(initiativeId);
          if (initiative === null) return refusal('NOT_FOUND', `There is no initiative ${initiativeId}.`, { field: 'initiativeId' });
          timeZone = initiative.timeZone;
        }
        const date = localDate(clock().toISOString(), timeZone);
        return {
          rows: rows(options.readModel, initiativeId),
          fileName: `${fileName}-${initiativeId === null ? 'all' : fileNamePart(initiativeId)}-${date}.csv`,
          write,
        };
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
