import type { IncomingMessage } from 'node:http';
import type { BulkRegistration, BulkRowResult } from '../application/bulkRegistration';
import type { CommandContext } from '../commands/pipeline';
import { DomainError } from '../domain/shared/decider';
import { formatPosition } from '../eventstore/eventStore';
import { parseUsersCsv } from '../imports/usersCsv';
import { isUnauthenticated, sendError, type HttpRoute, type RouteCaller, type RouteErrorCode } from './routes';

/**
 * `POST /imports/users.csv?programId=<id>[&reason=...]`: a CSV file of people (src/imports/usersCsv.ts)
 * registered into one program, for the program's staff (admins, coordinators).
 *
 * Progress is the answer itself: a streamed NDJSON response (`application/x-ndjson`), one JSON
 * object a line, written as the work goes:
 *
 *   {"type":"started","rows":10000,"programId":"..."}
 *   {"type":"row","row":2,"status":"CREATED","userId":"...","error":null}       (one per row, as each is decided)
 *   {"type":"progress","done":500,"total":10000}                                 (every 500 rows)
 *   {"type":"summary","total":10000,"created":9990,"alreadyRegistered":8,"refused":2,"position":"..."}
 *
 * A file that cannot be imported at all (no token, wrong role, too large, not CSV, unknown columns,
 * too many rows, no such program) is answered before anything is written, with a JSON error and the
 * API's codes. If the connection drops, the rows not started are not registered: upload the same
 * file again, which registers only those (the others answer ALREADY_REGISTERED).
 */

export const USERS_IMPORT_PATH = '/imports/users.csv';
export const USERS_IMPORT_ROLES: readonly string[] = ['admin', 'coordinator'];
const PROGRESS_EVERY = 500;
const SAFE_CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface UsersImportRouteOptions {
  readonly bulk: Pick<BulkRegistration, 'register' | 'check'>;
  readonly authenticate: (request: IncomingMessage) => Promise<RouteCaller | null> | RouteCaller | null;
  /** Largest file accepted, in bytes (IMPORT_MAX_BYTES). */
  readonly maxBytes: number;
  readonly clock: () => Date;
  readonly newId: () => string;
  readonly onError?: (error: unknown) => void;
}

class TooLarge extends Error {}

const readText = (request: IncomingMessage, limit: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return reject(new TooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners('data');
        request.resume();
        reject(new TooLarge());
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });

class ClientGone extends Error {}

export const usersImportRoute = (options: UsersImportRouteOptions): HttpRoute => ({
  method: 'POST',
  path: USERS_IMPORT_PATH,
  handle: async (request, response, url, door) => {
    const refuse = (code: RouteErrorCode, message: string, extra?: Record<string, unknown>) => {
      // The rest of a refused upload is not read: close the connection rather than drain megabytes.
      response.setHeader('connection', 'close');
      sendError(response, code, message, extra);
    };
    try {
      let caller: RouteCaller | null;
      try {
        caller = await options.authenticate(request);
      } catch (error) {
        if (isUnauthenticated(error)) return refuse('UNAUTHENTICATED', `The request could not be authenticated: ${error.message}`);
        throw error;
      }
      if (caller === null) return refuse('UNAUTHENTICATED', 'Importing people needs a bearer token: send "Authorization: Bearer <token>".');
      if (!USERS_IMPORT_ROLES.includes(caller.role)) {
        return refuse('FORBIDDEN', `The ${caller.role} role cannot import people; ${USERS_IMPORT_ROLES.join(' and ')} can.`);
      }
      const subject = caller.id ?? '(no subject)';
      const rate = door?.takeForSubject('write', subject);
      if (rate && !rate.ok) {
        return refuse('RATE_LIMITED', `Too many requests: the limit is ${rate.limit}. Try again in ${rate.retryAfterSeconds} s.`, {
          retryAfterSeconds: rate.retryAfterSeconds,
        });
      }
      const programId = url.searchParams.get('programId')?.trim() ?? '';
      if (programId === '') {
        return refuse('VALIDATION_FAILED', 'Say which program to register the people in: add ?programId=<the program id> to the address.', { field: 'programId' });
      }
      const reason = url.searchParams.get('reason')?.trim() || undefined;
      if (reason !== undefined && reason.length > 1000) {
        return refuse('VALIDATION_FAILED', 'The reason is longer than 1000 characters.', { field: 'reason' });
      }
      const type = String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== '' && type !== 'text/csv' && type !== 'text/plain' && type !== 'application/octet-stream') {
        return refuse('VALIDATION_FAILED', `Send the file itself as the body, with Content-Type: text/csv (got ${type.slice(0, 60)}).`, { field: 'content-type' });
      }
      let text: string;
      try {
        text = await readText(request, options.maxBytes);
      } catch (error) {
        if (error instanceof TooLarge) {
          return refuse('PAYLOAD_TOO_LARGE', `The file is larger than ${options.maxBytes} bytes (IMPORT_MAX_BYTES); split it into several files.`, {
            maxBytes: options.maxBytes,
          });
        }
        throw error;
      }
      let rows;
      try {
        rows = parseUsersCsv(text);
        await options.bulk.check(programId, rows.length);
      } catch (error) {
        if (error instanceof DomainError) {
          return refuse(error.code === 'NOT_FOUND' ? 'NOT_FOUND' : 'VALIDATION_FAILED', error.message, { ...error.details });
        }
        throw error;
      }

      const correlation = request.headers['x-correlation-id'];
      const context: CommandContext = {
        actor: { id: subject, role: caller.role as CommandContext['actor']['role'] },
        now: options.clock().toISOString(),
        correlationId: typeof correlation === 'string' && SAFE_CORRELATION_ID.test(correlation.trim()) ? correlation.trim() : options.newId(),
        ...(reason !== undefined ? { reason } : {}),
      };
      response.writeHead(200, {
        'content-type': 'application/x-ndjson; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      const line = async (object: Record<string, unknown>) => {
        if (response.destroyed) throw new ClientGone();
        if (!response.write(`${JSON.stringify(object)}\n`)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              response.off('drain', done);
              response.off('close', done);
              resolve();
            };
            response.on('drain', done);
            response.on('close', done);
          });
        }
      };
      await line({ type: 'started', rows: rows.length, programId });
      let done = 0;
      try {
        const summary = await options.bulk.register(context, programId, rows, async (result: BulkRowResult) => {
          await line({ type: 'row', row: result.row, status: result.status, userId: result.userId, error: result.error });
          done += 1;
          if (done % PROGRESS_EVERY === 0 && done < rows.length) await line({ type: 'progress', done, total: rows.length });
        });
        await line({
          type: 'summary',
          total: summary.total,
          created: summary.created,
          alreadyRegistered: summary.alreadyRegistered,
          refused: summary.refused,
          position: summary.position ? formatPosition(summary.position) : null,
        });
        response.end();
      } catch (error) {
        if (error instanceof ClientGone) return;
        options.onError?.(error);
        // The rows reported so far stand; say where it stopped, then end.
        if (!response.destroyed) {
          response.end(`${JSON.stringify({ type: 'failed', done, code: 'INTERNAL', message: 'The import stopped on a server error; upload the same file again to register the rest.' })}\n`);
        }
      }
    } catch (error) {
      options.onError?.(error);
      if (response.headersSent) response.destroy(error instanceof Error ? error : undefined);
      else sendError(response, 'INTERNAL', 'The import failed on the server; try again, and tell the administrators if it keeps failing.');
    }
  },
});
