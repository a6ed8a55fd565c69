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

/**
 * Records that the caller read `read`, when the caller is staff. Call it where the data is handed
 * out, after the access check passed; it returns at once and never throws.
 */
export const recordRead = (context: GraphQLContext<ReadAuditServices>, read: ReadOf): void => {
  const actor = context.actor;
  if (!actor || !RECORDED_ROLES.includes(actor.role)) return;
  let seen = recordedInRequest.get(context);
  if (!seen) {
    seen = new Set();
    recordedInRequest.set(context, seen);
  }
  const key = `${read.kind}\u0000${read.objectId}\u0000${read.subjectUserId ?? ''}\u0000${read.via}`;
  if (seen.has(key)) return;
  seen.add(key);
  context.services.readAudit.record({
    readAt: context.now().toISOString(),
    actorId: actor.id,
    actorRole: actor.role,
    kind: read.kind,
    objectId: read.objectId,
    subjectUserId: read.subjectUserId,
    via: read.via,
    requestId: context.requestId,
    correlationId: context.correlationId,
  });
};

/** A persona (its user's participation in a program) was read, as a record of that user. */
export const recordPersonaRead = (context: GraphQLContext<ReadAuditServices>, personaId: string, via: string): void => {
  const subjectUserId = userIdOfPersona(personaId);
  if (subjectUserId) recordRead(context, { kind: 'USER_RECORD', objectId: personaId, subjectUserId, via });
};
