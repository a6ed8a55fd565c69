import {
  getNamedType,
  GraphQLList,
  GraphQLObjectType,
  isListType,
  isNonNullType,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLOutputType,
} from 'graphql';
import { fieldVisible, visibility, type AccessKind, type AccessObjects, type MatchFacts, type Viewer, type Visibility } from '../domain/access/policy';
import { DomainError } from '../domain/shared/decider';
import type { LifecycleReadModel } from '../../projections/lifecycle/lifecycle.types';
import type { MatchingReadModel } from '../../projections/matching/matching.types';
import type { GraphQLContext } from './context';
import { isPromiseLike } from './fieldWrappers';

/**
 * The GraphQL side of the access policy (`src/domain/access/policy.ts`): which API type is which
 * kind of object, the caller as the policy sees them, and the check every field of the schema is
 * wrapped in (`withAccessPolicy`). Whatever path reaches an object, the check leaves out one the
 * caller may not see (null, or gone from its list) and answers null for a field of it they may not
 * see, so a resolver that forgets to ask is still covered.
 */

interface AccessServices {
  readonly readModel: Pick<LifecycleReadModel, 'personasOfUsers' | 'matchesByIds'>;
  readonly matching: Pick<MatchingReadModel, 'matchRequestsFor'>;
}

/** Every resolver context: the services a viewer is loaded with are in each composition, whatever a resolver's own type names. */
type AccessContext = GraphQLContext<unknown>;

/** How each API type that is a kind of object of the policy reads as that kind. */
type Governed = { readonly [K in AccessKind]: { readonly kind: K; readonly facts: (object: any) => AccessObjects[K] } }[AccessKind];

const as = <K extends AccessKind>(kind: K, facts: (object: any) => AccessObjects[K]): Governed => ({ kind, facts }) as Governed;

const matchFacts = (match: MatchFacts): MatchFacts => match;
const fromTheLog = (event: { streamId?: string }) => ({ streamId: event.streamId ?? '' });

export const GOVERNED_TYPES: Readonly<Record<string, Governed>> = {
  User: as('user', (user: { userId: string }) => ({ userId: user.userId })),
  Persona: as('persona', (persona: { personaId: string; userId: string }) => ({ personaId: persona.personaId, userId: persona.userId })),
  Match: as('match', matchFacts),
  MatchListItem: as('matchListItem', matchFacts),
  HistoryEntry: as('historyEntry', (entry: { userId: string; eventType: string }) => ({ userId: entry.userId, eventType: entry.eventType })),
  Meeting: as('meeting', (meeting: AccessObjects['meeting']) => meeting),
  Registration: as('registration', (registration: AccessObjects['registration']) => registration),
  RegistrationMessage: as('registrationMessage', (message: { userId: string }) => ({ userId: message.userId })),
  Notification: as('notification', (notification: AccessObjects['notification']) => notification),
  ManagerReportRow: as('managerReportRow', (row: AccessObjects['managerReportRow']) => row),
  LoggedEvent: as('loggedEvent', fromTheLog),
  EventChain: as('loggedEvent', fromTheLog),
  EventCommand: as('loggedEvent', fromTheLog),
  AggregateState: as('loggedEvent', fromTheLog),
  StateDiff: as('loggedEvent', fromTheLog),
  EventLogVerification: as('loggedEvent', fromTheLog),
  AvailableMentor: as('availableMentor', (mentor: AccessObjects['availableMentor']) => mentor),
  UnmatchedMentee: as('unmatchedMentee', (mentee: AccessObjects['unmatchedMentee']) => mentee),
  MentorSuggestion: as('mentorSuggestion', (suggestion: AccessObjects['mentorSuggestion']) => suggestion),
  MatchNeedingCheckIn: as('matchNeedingCheckIn', (match: AccessObjects['matchNeedingCheckIn']) => match),
  UserSnapshot: as('pastState', (snapshot: { userId: string }) => ({ userId: snapshot.userId })),
};

/**
 * Types with no rule of their own: programs and initiatives (every signed-in caller reads them),
 * parts of a governed object (reached only through it), connections and edges (their nodes are
 * governed), counts, and mutation payloads (their objects are governed). A new type must be put in
 * one list or the other; the schema-walking test fails until it is.
 */
export const UNGOVERNED_TYPES: readonly string[] = [
  'Query', 'Mutation', 'Subscription',
  'Program', 'ProgramSettings', 'Site', 'MatchingCriterion', 'NotificationTemplate', 'AutoMatchingConfiguration', 'AutoMatchingCriterion',
  'AutoMatchingRun', 'Initiative', 'UserStatusInfo', 'Health', 'HealthThresholds', 'ProjectionLag', 'MatchingFunnel', 'MatchHealth',
  'Access', 'Actor', 'Manager', 'PersonaSnapshot', 'ScorePart', 'CheckInReason', 'EngagementPeriod', 'RegistrationReminder',
  'RegistrationTask', 'EventMetadata', 'ChainProblem', 'StateChange', 'PageInfo',
  'UserConnection', 'UserEdge', 'HistoryConnection', 'HistoryEdge', 'EventLogConnection', 'EventLogEdge', 'MatchListConnection',
  'MatchListEdge', 'AvailableMentorConnection', 'AvailableMentorEdge', 'UnmatchedMenteeConnection', 'UnmatchedMenteeEdge',
  'UserError', 'ProgramPayload', 'UserPayload', 'PersonaPayload', 'MatchPayload', 'UserStatusChangeResult', 'ChangeUserStatusesPayload',
  'BulkMatchPayload', 'InvitationResult', 'InviteMenteesPayload', 'MeetingPayload', 'InitiativePayload', 'RegistrationPayload',
  'RunAutoMatchingPayload',
  // Bulk registration answers ids and outcomes, never a person's data.
  'RegisterUsersPayload', 'BulkRegistrationResult',
  // A preview is the program's template filled with sample values the caller gave or built-in ones: no one's data.
  'NotificationPreview', 'PreviewValue',
  // The read log ("who read what") is reached only through personalDataReads, which only auditors may call.
  'PersonalDataReadConnection', 'PersonalDataReadEdge', 'PersonalDataRead',
  // Token revocations are reached only through revokeTokens (admins) and tokenRevocations (admins, auditors).
  'TokenRevocation', 'TokenRevocationPayload',
];

const viewers = new WeakMap<object, Promise<Viewer>>();
/** The same viewers once loaded, for the fields' checks to read without waiting. */
const loadedViewers = new WeakMap<object, Viewer>();

const needsRelations = (actor: NonNullable<AccessContext['actor']>): boolean =>
  (actor.role === 'mentor' || actor.role === 'mentee') && actor.userId !== undefined;

const baseViewer = (actor: NonNullable<AccessContext['actor']>): Viewer => ({
  role: actor.role,
  actorId: actor.id,
  ...(actor.userId !== undefined ? { userId: actor.userId } : {}),
  programIds: [],
  matches: [],
});

const loadViewer = async (context: AccessContext): Promise<Viewer> => {
  const actor = context.actor;
  if (!actor) throw new DomainError('UNAUTHENTICATED', 'Sign in first: send "Authorization: Bearer <token>" with the request.');
  if (!needsRelations(actor)) return baseViewer(actor);
  const { readModel, matching } = context.services as AccessServices;
  const personas = await readModel.personasOfUsers([actor.userId!]);
  const matchIds = personas.flatMap((persona) => (persona.matchId ? [persona.matchId] : []));
  const [matches, requests] = await Promise.all([readModel.matchesByIds(matchIds), matching.matchRequestsFor(actor.userId!)]);
  return { ...baseViewer(actor), programIds: [...new Set(personas.map((persona) => persona.programId))], matches: [...matches, ...requests] };
};

/** The caller as the policy sees them: loaded once per request. */
export const viewerOf = (context: AccessContext): Promise<Viewer> => {
  let viewer = viewers.get(context);
  if (!viewer) {
    viewer = loadViewer(context);
    viewers.set(context, viewer);
    viewer.then((loaded) => loadedViewers.set(context, loaded), () => undefined);
  }
  return viewer;
};

/**
 * The caller as the policy sees them, when that is known without waiting: staff need nothing
 * loaded; participants once their matches were read. Undefined until then (ask `viewerOf`).
 */
const viewerNow = (context: AccessContext): Viewer | undefined => {
  const loaded = loadedViewers.get(context);
  if (loaded) return loaded;
  const actor = context.actor;
  if (!actor || needsRelations(actor)) return undefined;
  const viewer = baseViewer(actor);
  loadedViewers.set(context, viewer);
  viewers.set(context, Promise.resolve(viewer));
  return viewer;
};

/** Whether the caller may see this object at all. */
export const canSee = async <K extends AccessKind>(context: AccessContext, kind: K, object: AccessObjects[K]): Promise<boolean> =>
  visibility(await viewerOf(context), kind, object).visible;

/** For root fields that name one object: FORBIDDEN when the caller may not see it. */
export const assertCanSee = async <K extends AccessKind>(
  context: AccessContext,
  kind: K,
  object: AccessObjects[K],
  message: string,
  details: Record<string, unknown> = {},
): Promise<void> => {
  if (!(await canSee(context, kind, object))) throw new DomainError('FORBIDDEN', message, details);
};

const governedNodeOf = (type: GraphQLOutputType): Governed | undefined => {
  const named = getNamedType(type);
  const direct = GOVERNED_TYPES[named.name];
  if (direct) return direct;
  // An edge of a connection: kept or left out with its node.
  if (named instanceof GraphQLObjectType) {
    const node = named.getFields().node;
    if (node) return GOVERNED_TYPES[getNamedType(node.type).name];
  }
  return undefined;
};

const isEdgeOf = (type: GraphQLOutputType): boolean => {
  const named = getNamedType(type);
  return !GOVERNED_TYPES[named.name] && named instanceof GraphQLObjectType && named.getFields().node !== undefined;
};

/** Each object's visibility, worked out once per request rather than once per field. */
const decided = new WeakMap<object, WeakMap<object, Visibility>>();

const visibilityOf = (context: AccessContext, viewer: Viewer, governed: Governed, object: object): Visibility => {
  let cache = decided.get(context);
  if (!cache) {
    cache = new WeakMap();
    decided.set(context, cache);
  }
  let seen = cache.get(object);
  if (!seen) {
    seen = visibility(viewer, governed.kind, governed.facts(object) as never);
    cache.set(object, seen);
  }
  return seen;
};

/** What a field returns with every governed object the caller may not see left out (null, or gone from its list). */
const filterValue = (context: AccessContext, viewer: Viewer, type: GraphQLOutputType, governed: Governed, edge: boolean, value: unknown): unknown => {
  if (value === null || value === undefined) return value;
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner) && Array.isArray(value)) {
    return value
      .map((item) => filterValue(context, viewer, (inner as GraphQLList<GraphQLOutputType>).ofType, governed, edge, item))
      .filter((item) => item !== null && item !== undefined);
  }
  const object = edge ? (value as { node: unknown }).node : value;
  if (object === null || typeof object !== 'object') return visibility(viewer, governed.kind, governed.facts(object) as never).visible ? value : null;
  return visibilityOf(context, viewer, governed, object).visible ? value : null;
};

/**
 * The access policy on one field of the schema, applied where the schema is built
 * (`governFields` in schema.ts) to every field of every type. A field of a governed object answers
 * null unless the policy shows the caller that field of that object; a field that returns governed
 * objects (or edges of them) leaves out every one the caller may not see, whatever resolver made
 * them. So every object is checked wherever it is reached, including by a resolver that forgets
 * to ask. Fields with neither (a program's name, a page's cursor) are returned as they are.
 * Synchronous once the caller is known (at once for staff, after one read for participants), so
 * plain fields stay plain values for graphql-js rather than a promise each.
 */
export const withAccessPolicy = <Source, Context>(
  parentType: GraphQLObjectType,
  field: GraphQLField<Source, Context>,
  resolve: GraphQLFieldResolver<Source, Context>,
): GraphQLFieldResolver<Source, Context> => {
  const parent = GOVERNED_TYPES[parentType.name];
  const governed = governedNodeOf(field.type);
  if (!parent && !governed) return resolve;
  const edge = isEdgeOf(field.type);
  const fieldName = field.name;
  const type = field.type;
  const filtered = (context: AccessContext, viewer: Viewer, result: unknown): unknown =>
    isPromiseLike(result) ? Promise.resolve(result).then((value) => filterValue(context, viewer, type, governed!, edge, value)) : filterValue(context, viewer, type, governed!, edge, result);
  const guarded: GraphQLFieldResolver<Source, Context> = (root, args, context, info) => {
    const access = context as AccessContext;
    if (!access.actor) return resolve(root, args, context, info);
    const viewer = viewerNow(access);
    if (parent && root && typeof root === 'object') {
      // The field's own object first: nothing of it runs for a caller who may not see the field.
      if (!viewer) return viewerOf(access).then(() => guarded(root, args, context, info));
      if (!fieldVisible(visibilityOf(access, viewer, parent, root), fieldName)) return null;
    }
    const result = resolve(root, args, context, info);
    if (!governed) return result;
    if (viewer) return filtered(access, viewer, result);
    return Promise.all([result, viewerOf(access)]).then(([value, loaded]) => filterValue(access, loaded, type, governed, edge, value));
  };
  return guarded;
};
