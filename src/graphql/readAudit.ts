import type { ReadKind, ReadRecorder } from '../audit/readAudit';
import { userIdOfPersona } from '../domain';
import type { TokenRole } from './auth';
import type { GraphQLContext } from './context';

/**
 * The roles whose reads of a person's data are recorded: the staff. Mentors and mentees read only
 * themselves, and a person looking at their own record is not what "who read what" is about.
 */
export const RECORDED_ROLES: readonly TokenRole[] = ['admin', 'coordinator', 'auditor', 'analyst', 'manager'];

export interface ReadOf {
  readonly kind: ReadKind;
  /** What was read: a user id, a stream id, an export's path and parameters. */
  readonly objectId: string;
  /** Whose data it is; null when the read covers many people or nobody in particular. */
  readonly subjectUserId: string | null;
  /** The operation or field that read it, e.g. `Query.userHistory`. */
  readonly via: string;
}

/** The services a recording resolver needs. */
export interface ReadAuditServices {
  readonly readAudit: ReadRecorder;
}

// Per request, what was already recorded: a page that names one user twice, or a user and their
// history fetched through two paths of one query, is one read of each thing.
const recordedInRequest = new WeakMap<object, Set<string>>();

const recordedRole = (context: GraphQLContext<ReadAuditServices>): boolean => {
  const actor = context.actor;
  return actor !== null && RECORDED_ROLES.includes(actor.role);
};

const seenIn = (context: GraphQLContext<ReadAuditServices>): Set<string> => {
  let seen = recordedInRequest.get(context);
  if (!seen) {
    seen = new Set();
    recordedInRequest.set(context, seen);
  }
  return seen;
};

/**
 * Records that the caller read `read`, when the caller is staff. Call it where the data is handed
 * out, after the access check passed; it returns at once and never throws.
 */
export const recordRead = (context: GraphQLContext<ReadAuditServices>, read: ReadOf): void => {
  if (!recordedRole(context)) return;
  recordIn(context, seenIn(context), context.now().toISOString(), read.kind, read.objectId, read.subjectUserId, read.via);
};

/**
 * `recordRead` of each of a page's users (`kind` of the user, each their own subject), one entry
 * each: the caller, the clock and the request's record are looked up once for the page.
 */
export const recordReadsOfUsers = (context: GraphQLContext<ReadAuditServices>, kind: ReadKind, userIds: readonly string[], via: string): void => {
  if (userIds.length === 0 || !recordedRole(context)) return;
  const seen = seenIn(context);
  const readAt = context.now().toISOString();
  for (const userId of userIds) recordIn(context, seen, readAt, kind, userId, userId, via);
};

const recordIn = (
  context: GraphQLContext<ReadAuditServices>,
  seen: Set<string>,
  readAt: string,
  kind: ReadKind,
  objectId: string,
  subjectUserId: string | null,
  via: string,
): void => {
  const key = `${kind}\u0000${objectId}\u0000${subjectUserId ?? ''}\u0000${via}`;
  if (seen.has(key)) return;
  seen.add(key);
  const actor = context.actor!;
  context.services.readAudit.record({
    readAt,
    actorId: actor.id,
    actorRole: actor.role,
    kind,
    objectId,
    subjectUserId,
    via,
    requestId: context.requestId,
    correlationId: context.correlationId,
  });
};

/** A persona (its user's participation in a program) was read, as a record of that user. */
export const recordPersonaRead = (context: GraphQLContext<ReadAuditServices>, personaId: string, via: string): void => {
  const subjectUserId = userIdOfPersona(personaId);
  if (subjectUserId) recordRead(context, { kind: 'USER_RECORD', objectId: personaId, subjectUserId, via });
};
