import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { MATCH_LIFECYCLE_STATUSES, type MatchLifecycleStatus } from '../domain';
import { localDate, pseudonymisedMatchExportRow, writeMatchesCsv } from '../export/matchesCsv';
import type { MatchExportRow, MatchingReadModel } from '../../projections/matching/matching.types';
import type { ReadRecorder } from '../audit/readAudit';
import { readsRaw, type Pseudonyms } from '../audit/pseudonyms';

/** A plain HTTP endpoint beside GraphQL: the server calls `handle` for a request with this method and path. */
export interface HttpRoute {
  readonly method: 'GET' | 'POST';
  /** The exact path, without the query string. */
  readonly path: string;
  /** `url` is the request's URL, parsed (query parameters in `url.searchParams`). */
  handle(request: IncomingMessage, response: ServerResponse, url: URL, door?: RouteDoor): Promise<void>;
}

/**
 * The server's limits, for a route to apply once it knows the caller: the per-subject rate limit
 * of its kind (the address's limit was taken before the route ran), the same buckets /graphql uses.
 */
export interface RouteDoor {
  takeForSubject(kind: 'read' | 'write', subject: string): { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number; readonly limit: string };
}

/** The caller as the route needs to know them; `authenticate` returns null for a request without credentials. */
export interface RouteCaller {
  readonly role: string;
  /** The token's subject (a manager's e-mail, for the manager report). */
  readonly id?: string;
  /** The token's permissions (`personal-data:raw` lets an analyst download names and e-mails as they are). */
  readonly permissions?: readonly string[];
}

/**
 * Refusals with the same stable codes as the GraphQL API, and a sentence a person can act on.
 * `authenticate` may throw an error with `code: 'UNAUTHENTICATED'` (a bad token): it is answered 401.
 */
export type RouteErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'VALIDATION_FAILED' | 'NOT_FOUND' | 'PAYLOAD_TOO_LARGE' | 'RATE_LIMITED' | 'INTERNAL';

const STATUS_OF: Readonly<Record<RouteErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL: 500,
};

export const sendError = (response: ServerResponse, code: RouteErrorCode, message: string, extra: Record<string, unknown> = {}): void => {
  const body = JSON.stringify({ error: { code, message, ...extra } });
  response.writeHead(STATUS_OF[code], {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...(code === 'UNAUTHENTICATED' ? { 'www-authenticate': 'Bearer' } : {}),
    ...(code === 'RATE_LIMITED' && typeof extra.retryAfterSeconds === 'number' ? { 'retry-after': String(extra.retryAfterSeconds) } : {}),
  });
  response.end(body);
};

export const isUnauthenticated = (error: unknown): error is Error =>
  error instanceof Error && (error as Error & { code?: unknown }).code === 'UNAUTHENTICATED';

// ---------------------------------------------------------------------------------------------
// GET /exports/matches.csv

export const MATCHES_EXPORT_PATH = '/exports/matches.csv';
/** Who may export: the program's staff and the read-only roles. */
export const MATCHES_EXPORT_ROLES: readonly string[] = ['admin', 'auditor', 'analyst'];
export const DEFAULT_EXPORT_STATUSES: readonly MatchLifecycleStatus[] = ['ACTIVE', 'STAGED'];

export interface MatchesExportRouteOptions {
  readonly readModel: Pick<MatchingReadModel, 'programSummary' | 'matchesForExport'>;
  readonly authenticate: (request: IncomingMessage) => Promise<RouteCaller | null> | RouteCaller | null;
  /** Dates the file name (default: the system clock). */
  readonly clock?: () => Date;
  /** Told of failures answered 500 or cut mid-file (default: none). */
  readonly onError?: (error: unknown) => void;
  /** Records each staff download (default: none). */
  readonly readAudit?: RouteReadAudit;
  /** Analysts' pseudonyms; without them analysts need `personal-data:raw` to download. */
  readonly pseudonyms?: Pseudonyms | null;
}

/** A file-name-safe rendering of an id typed by someone else. */
export const fileNamePart = (text: string): string => text.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 100);

/** `first` followed by the rest of `iterator`. */
async function* resumed<T>(first: IteratorResult<T>, iterator: AsyncIterator<T>): AsyncGenerator<T> {
  for (let next = first; !next.done; next = await iterator.next()) yield next.value;
}

/** Why a download is refused: answered as JSON with the code's HTTP status. */
export interface Refusal {
  readonly refused: RouteErrorCode;
  readonly message: string;
  readonly extra?: Record<string, unknown>;
}

export const refusal = (refused: RouteErrorCode, message: string, extra?: Record<string, unknown>): Refusal => ({
  refused,
  message,
  ...(extra ? { extra } : {}),
});

/** What a download sends: its rows, the file's name, and how the rows are written. */
export interface CsvDownload<Row> {
  readonly rows: AsyncIterable<Row>;
  readonly fileName: string;
  readonly write: (rows: AsyncIterable<Row>, output: Writable) => Promise<void>;
}

/** Where a route records staff downloads of personal data ("who read what"), and the clock that dates them. */
export interface RouteReadAudit {
  readonly recorder: ReadRecorder;
  readonly clock: () => Date;
}

/** The staff roles whose downloads are recorded (participants cannot download these files). */
const RECORDED_ROUTE_ROLES: readonly string[] = ['admin', 'coordinator', 'auditor', 'analyst', 'manager'];
const SAFE_CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * One EXPORT read for a download: what it covered is the path with its parameters; and, for an
 * analyst who downloads names and e-mails unpseudonymised (`personal-data:raw`), a RAW_PERSONAL_DATA read of it.
 */
const recordDownload = (audit: RouteReadAudit, caller: RouteCaller, request: IncomingMessage, response: ServerResponse, url: URL, raw: boolean): void => {
  if (!RECORDED_ROUTE_ROLES.includes(caller.role)) return;
  const requestId = response.getHeader('x-request-id');
  const correlation = request.headers['x-correlation-id'];
  const correlationId = typeof correlation === 'string' && SAFE_CORRELATION_ID.test(correlation.trim()) ? correlation.trim() : null;
  const read = {
    readAt: audit.clock().toISOString(),
    actorId: caller.id ?? '(no subject)',
    actorRole: caller.role,
    objectId: `${url.pathname}${url.search}`,
    subjectUserId: null,
    via: `GET ${url.pathname}`,
    requestId: typeof requestId === 'string' ? requestId : null,
    correlationId,
  };
  audit.recorder.record({ ...read, kind: 'EXPORT' });
  if (raw && caller.role === 'analyst') audit.recorder.record({ ...read, kind: 'RAW_PERSONAL_DATA' });
};

/**
 * How an analyst without `personal-data:raw` downloads a file of personal data: each row with names
 * and e-mails as the stable pseudonyms of whom they name (the same as in the API and the log), free
 * text and details left out.
 */
export interface RowPseudonymisation<Row> {
  readonly pseudonyms: Pseudonyms;
  readonly row: (row: Row, pseudonyms: Pseudonyms) => Row;
}

async function* mapped<T>(rows: AsyncIterable<T>, map: (row: T) => T): AsyncGenerator<T> {
  for await (const row of rows) yield map(row);
}

export interface CsvDownloadRouteSpec<Row> {
  readonly path: string;
  /** What is exported, for messages ("matches"). */
  readonly what: string;
  /** Roles that may download it. */
  readonly roles: readonly string[];
  readonly authenticate: (request: IncomingMessage) => Promise<RouteCaller | null> | RouteCaller | null;
  /** From the request to the download, or a refusal (after authentication and the role check). */
  readonly prepare: (url: URL, caller: RouteCaller) => Promise<CsvDownload<Row> | Refusal>;
  /** Told of failures answered 500 or cut mid-file (default: none). */
  readonly onError?: (error: unknown) => void;
  /** Records each staff download that starts (default: none). */
  readonly readAudit?: RouteReadAudit;
  /**
   * Files that name people: how analysts read them. Required of a route analysts may use; without
   * it (no pseudonyms, KurrentDB), analysts without `personal-data:raw` are refused.
   */
  readonly pseudonymise?: RowPseudonymisation<Row> | null;
}

/**
 * A CSV download behind a bearer token: authentication and roles first, refusals as JSON with the
 * API's stable codes, and the first rows read before the response starts, so a failing database is
 * still answered with a JSON 500 rather than a cut file.
 */
export const csvDownloadRoute = <Row>(spec: CsvDownloadRouteSpec<Row>): HttpRoute => ({
  method: 'GET',
  path: spec.path,
  handle: async (request, response, url) => {
    try {
      let caller: RouteCaller | null;
      try {
        caller = await spec.authenticate(request);
      } catch (error) {
        if (isUnauthenticated(error)) return sendError(response, 'UNAUTHENTICATED', `The request could not be authenticated: ${error.message}`);
        throw error;
      }
      if (caller === null) {
        return sendError(response, 'UNAUTHENTICATED', `Exporting ${spec.what} needs a bearer token: send "Authorization: Bearer <token>".`);
      }
      if (!spec.roles.includes(caller.role)) {
        return sendError(response, 'FORBIDDEN', `The ${caller.role} role cannot export ${spec.what}; ${spec.roles.join(', ')} can.`);
      }
      const raw = readsRaw(caller.role, caller.permissions);
      if (!raw && !spec.pseudonymise) {
        return sendError(response, 'FORBIDDEN', `This server cannot pseudonymise ${spec.what}; an analyst needs the personal-data:raw permission to export them.`);
      }
      const download = await spec.prepare(url, caller);
      if ('refused' in download) return sendError(response, download.refused, download.message, download.extra);
      const pseudonymise = raw ? null : spec.pseudonymise!;
      const rows = pseudonymise ? mapped(download.rows, (row) => pseudonymise.row(row, pseudonymise.pseudonyms)) : download.rows;
      const iterator = rows[Symbol.asyncIterator]();
      const first = await iterator.next();
      if (spec.readAudit) recordDownload(spec.readAudit, caller, request, response, url, raw);
      response.writeHead(200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${download.fileName}"`,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      await download.write(resumed(first, iterator), response);
    } catch (error) {
      spec.onError?.(error);
      // Once the file has started, the only honest signal left is a cut connection.
      if (response.headersSent) response.destroy(error instanceof Error ? error : undefined);
      else sendError(response, 'INTERNAL', `The export failed on the server; try again, and tell the administrators if it keeps failing.`);
    }
  },
});


/** `status=ACTIVE&status=STAGED` (or `status=ACTIVE,STAGED`); the defaults when there is none. */
const requestedStatuses = (url: URL): { statuses: MatchLifecycleStatus[] } | { unknown: string[] } => {
  const given = url.searchParams
    .getAll('status')
    .flatMap((value) => value.split(','))
    .map((value) => value.trim().toUpperCase())
    .filter((value) => value !== '');
  if (given.length === 0) return { statuses: [...DEFAULT_EXPORT_STATUSES] };
  const unknown = given.filter((value) => !MATCH_LIFECYCLE_STATUSES.includes(value as MatchLifecycleStatus));
  if (unknown.length > 0) return { unknown };
  return { statuses: [...new Set(given as MatchLifecycleStatus[])] };
};


/**
 * `GET /exports/matches.csv?programId=...&status=ACTIVE&status=STAGED`: the program's matches in
 * those statuses (default ACTIVE and STAGED) as a CSV download.
 */
export const matchesExportRoute = (options: MatchesExportRouteOptions): HttpRoute =>
  csvDownloadRoute<MatchExportRow>({
    path: MATCHES_EXPORT_PATH,
    what: 'matches',
    roles: MATCHES_EXPORT_ROLES,
    authenticate: options.authenticate,
    pseudonymise: options.pseudonyms ? { pseudonyms: options.pseudonyms, row: pseudonymisedMatchExportRow } : null,
    ...(options.onError ? { onError: options.onError } : {}),
    ...(options.readAudit ? { readAudit: options.readAudit } : {}),
    prepare: async (url) => {
      const clock = options.clock ?? (() => new Date());
      const programId = url.searchParams.get('programId')?.trim() ?? '';
      if (programId === '') {
        return refusal('VALIDATION_FAILED', 'Say which program to export: add ?programId=<the program id> to the address.', { field: 'programId' });
      }
      const wanted = requestedStatuses(url);
      if ('unknown' in wanted) {
        return refusal(
          'VALIDATION_FAILED',
          `${wanted.unknown.join(', ')} ${wanted.unknown.length === 1 ? 'is not a match status' : 'are not match statuses'}; ` +
            `use status=${MATCH_LIFECYCLE_STATUSES.join(', ')} (default: ${DEFAULT_EXPORT_STATUSES.join(' and ')}).`,
          { field: 'status' },
        );
      }
      const program = await options.readModel.programSummary(programId);
      if (program === null) return refusal('NOT_FOUND', `There is no program ${programId}.`, { field: 'programId' });
      return {
        rows: options.readModel.matchesForExport(programId, wanted.statuses),
        fileName: `matches-${fileNamePart(programId)}-${localDate(clock().toISOString(), program.timeZone)}.csv`,
        write: writeMatchesCsv,
      };
    },
  });
