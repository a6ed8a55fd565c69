import { getNamedType, isListType, isNonNullType, type GraphQLField, type GraphQLFieldResolver, type GraphQLObjectType, type GraphQLOutputType } from 'graphql';
import { PSEUDONYMISED, readsRaw, type Pseudonyms } from '../audit/pseudonyms';
import { ERASED } from '../domain/personalData';
import { userIdForEmail } from '../domain/user/userId';
import { requireActor, type GraphQLContext } from './context';
import { isPromiseLike } from './fieldWrappers';
import { recordRead, type ReadAuditServices } from './readAudit';

/**
 * Analysts read personal data pseudonymised (issue 15): names and e-mails as the stable pseudonym of
 * whom they name, free text and details left out, unless their token grants `personal-data:raw`,
 * and then each raw read is recorded in the read audit (`RAW_PERSONAL_DATA`). This module decides it
 * for the whole API: `personalDataView` says how a caller reads, `PSEUDONYMISED_FIELDS` lists every
 * field of the API that carries a name, an e-mail or free text, and `withPseudonymisation`
 * applies the list wherever such a field is reached. The event log, its states and diffs, and the
 * history sentences are pseudonymised where they are made (`Pseudonyms.event`/`state`), as their
 * personal values sit inside JSON or text; the CSV downloads use `readsRaw` and the row
 * pseudonymisers of their routes.
 */

type PseudonymServices = { readonly pseudonyms: Pseudonyms | null } & ReadAuditServices;

/** What a raw read was of, for the read audit. */
export interface RawRead {
  /** What was read raw: whose data (a user id), or which query or download. */
  readonly objectId: string;
  readonly subjectUserId: string | null;
  readonly via: string;
}

/**
 * How the caller reads personal data: `raw` (everyone but analysts, and analysts whose token grants
 * personal-data:raw, whose read is then recorded as `RAW_PERSONAL_DATA`), or the pseudonyms to show
 * instead (analysts by default).
 */
export const personalDataView = (context: GraphQLContext<PseudonymServices>, read: RawRead): 'raw' | Pseudonyms => {
  const actor = requireActor(context);
  if (actor.role !== 'analyst' || context.services.pseudonyms === null) return 'raw';
  if (!readsRaw(actor.role, actor.permissions)) return context.services.pseudonyms;
  recordRead(context, { kind: 'RAW_PERSONAL_DATA', ...read });
  return 'raw';
};

/** Whom a personal field names, from the object it is a field of; null when nobody in particular. */
type Subject = (parent: any) => string | null | undefined;

/** How an analyst without raw access reads one field: the pseudonym of whom it names, or nothing (free text, details). */
export type FieldPseudonymisation = { readonly names: Subject } | { readonly leftOut: true };

const names = (subject: Subject): FieldPseudonymisation => ({ names: subject });
const LEFT_OUT: FieldPseudonymisation = { leftOut: true };
const byEmail = (email: unknown): string | null => (typeof email === 'string' && email !== '' ? userIdForEmail(email) : null);
const userIdOf: Subject = (parent: { userId?: string }) => parent.userId;
const mentorOf: Subject = (parent: { mentorUserId?: string }) => parent.mentorUserId;
const menteeOf: Subject = (parent: { menteeUserId?: string }) => parent.menteeUserId;

/**
 * Every field of the API that carries a person's name or e-mail, or free text someone typed, with
 * how analysts read it. A new type or field with personal data: one line here (the analysts' e2e
 * test reads every query and export and fails on any name or e-mail it finds).
 */
export const PSEUDONYMISED_FIELDS: Readonly<Record<string, Readonly<Record<string, FieldPseudonymisation>>>> = {
  User: { name: names(userIdOf), email: names(userIdOf), company: LEFT_OUT, manager: LEFT_OUT, profile: LEFT_OUT },
  UserSnapshot: { name: names(userIdOf), email: names(userIdOf) },
  AvailableMentor: { name: names(userIdOf), email: names(userIdOf) },
  UnmatchedMentee: { name: names(userIdOf), email: names(userIdOf) },
  MentorSuggestion: { name: names(mentorOf) },
  MatchNeedingCheckIn: { mentorName: names(mentorOf), menteeName: names(menteeOf) },
  Match: { requestMessage: LEFT_OUT, declineMessage: LEFT_OUT },
  MatchListItem: {
    mentorName: names(mentorOf),
    mentorEmail: names(mentorOf),
    menteeName: names(menteeOf),
    menteeEmail: names(menteeOf),
    requestMessage: LEFT_OUT,
    declineMessage: LEFT_OUT,
  },
  // What was compared names profile attributes ("shares French, Spanish"), which are personal.
  ScorePart: { detail: LEFT_OUT },
  Meeting: { title: LEFT_OUT, notes: LEFT_OUT, cancellationReason: LEFT_OUT },
  // The sentence itself is made from the pseudonymised event (`historyPage`); the reason is free text.
  HistoryEntry: { reason: LEFT_OUT },
  Notification: { toName: names((n: { recipientUserId?: string }) => n.recipientUserId), toAddress: names((n: { recipientUserId?: string }) => n.recipientUserId), subject: LEFT_OUT, body: LEFT_OUT, lastError: LEFT_OUT },
  Registration: {
    volunteerName: names(userIdOf),
    volunteerEmail: names(userIdOf),
    // A manager known by e-mail only is the subject their address would be as a user (as in the log).
    managerName: names((r: { managerEmail?: string | null }) => byEmail(r.managerEmail)),
    managerEmail: names((r: { managerEmail?: string | null }) => byEmail(r.managerEmail)),
    rejectionMessage: LEFT_OUT,
  },
  ManagerReportRow: { mentorName: names(mentorOf), mentorEmail: names(mentorOf), company: LEFT_OUT },
};

/**
 * What a left-out field reads: null where it may be, else an empty list or object, or text that says
 * it was left out.
 */
const leftOut = (type: GraphQLOutputType, value: unknown): unknown => {
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner)) return [];
  if (getNamedType(type).name === 'JSONObject') return {};
  if (!isNonNullType(type)) return null;
  return typeof value === 'string' && value !== '' ? PSEUDONYMISED : value;
};

/**
 * Pseudonymisation on one field of the schema, applied where the schema is built (`governFields`
 * in schema.ts) to every field: a personal field (`PSEUDONYMISED_FIELDS`) reads as the caller may
 * read it, whatever path reached its object; every other field is left as it is.
 */
export const withPseudonymisation = <Source, Context>(
  parentType: GraphQLObjectType,
  field: GraphQLField<Source, Context>,
  resolve: GraphQLFieldResolver<Source, Context>,
): GraphQLFieldResolver<Source, Context> => {
  const rule = PSEUDONYMISED_FIELDS[parentType.name]?.[field.name];
  if (!rule) return resolve;
  const via = parentType.name;
  const returnType = field.type;
  return (root, args, context, info) => {
    const caller = context as GraphQLContext<PseudonymServices>;
    if (!caller.actor || !root || typeof root !== 'object') return resolve(root, args, context, info);
    const subject = 'names' in rule ? (rule.names(root) ?? null) : ((root as { userId?: string }).userId ?? null);
    // One raw read per object kind and person in a request, however many of their fields it showed.
    const view = personalDataView(caller, { objectId: subject ?? via, subjectUserId: subject, via });
    const result = resolve(root, args, context, info);
    if (view === 'raw') return result;
    const masked = (value: unknown): unknown => {
      if (value === null || value === undefined || value === ERASED) return value;
      if ('names' in rule) return subject === null ? PSEUDONYMISED : view.of(subject);
      return leftOut(returnType, value);
    };
    return isPromiseLike(result) ? Promise.resolve(result).then(masked) : masked(result);
  };
};
