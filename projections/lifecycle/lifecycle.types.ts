import type { GlobalPosition, RecordedEvent } from '../../src/eventstore/eventStore';
import type {
  ApprovingParty,
  AttributeValue,
  AutoMatchingConfiguration,
  MatchLifecycleStatus,
  MatchSource,
  MatchStatus,
  NotificationKind,
  NotificationTemplate,
  ParticipantRole,
  PersonaOrigin,
  PersonaStatus,
  ProgramSettings,
  RematchIntent,
  RequestingParty,
  ScorePart,
  Site,
  UserStatus,
} from '../../src/domain';

/** Read-side rows of the participant lifecycle, as the projections in `projections/` keep them. */

export interface ProgramView {
  readonly programId: string;
  readonly name: string;
  readonly timeZone: string;
  readonly settings: ProgramSettings;
  readonly partnerSites: readonly Site[];
  readonly mentorSiteLists: readonly Site[];
  readonly closureReasons: readonly string[];
  /** The program's own e-mails; kinds not listed use the defaults. */
  readonly notificationTemplates: Readonly<Partial<Record<NotificationKind, NotificationTemplate>>>;
  readonly autoMatching: AutoMatchingConfiguration;
  readonly bannedPairs: readonly { readonly mentorUserId: string; readonly menteeUserId: string }[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface UserView {
  readonly userId: string;
  readonly email: string;
  readonly name: string;
  readonly programId: string;
  readonly role: ParticipantRole;
  readonly company: string | null;
  readonly managerName: string | null;
  readonly managerEmail: string | null;
  /** The profile attributes auto-matching compares. */
  readonly profile: Readonly<Record<string, AttributeValue>>;
  readonly userStatus: UserStatus;
  readonly applicationCompleted: boolean;
  readonly registeredAt: string;
  readonly updatedAt: string;
}

export interface PersonaView {
  readonly personaId: string;
  readonly userId: string;
  /** n in `${userId}:p${n}`: 1 for the persona every user starts with. */
  readonly number: number;
  readonly programId: string;
  readonly role: ParticipantRole;
  readonly personaStatus: PersonaStatus;
  readonly matchStatus: MatchStatus;
  readonly matchId: string | null;
  readonly partnerSiteId: string | null;
  readonly mentorSiteListId: string | null;
  /** Why the persona was created; null for personas recorded before the read model kept it (until a rebuild). */
  readonly originKind: PersonaOrigin['kind'] | null;
  /** When the mentee was invited to submit mentor preferences; null if never. */
  readonly invitedAt: string | null;
  /** Its match ran its full duration (the persona stays MATCHED but no longer takes a mentor's capacity). */
  readonly matchCompleted: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type MatchViewStatus = MatchLifecycleStatus;

/** Why a request was withdrawn or a staged match discarded. */
export type MatchEndReason = 'BY_ADMIN' | 'MENTEE_MATCHED' | 'PARTICIPANT_UNAVAILABLE' | 'WITHDRAWN_BY_REQUESTER';

export interface MatchView {
  readonly matchId: string;
  readonly programId: string;
  readonly mentorUserId: string;
  readonly mentorPersonaId: string;
  readonly menteeUserId: string;
  readonly menteePersonaId: string;
  readonly status: MatchViewStatus;
  /** ADMIN or AUTO for a staged or direct match, REQUEST for a participant's request. */
  readonly source: MatchSource;
  /** Auto-matching's score for the pair. */
  readonly score: number | null;
  /** Auto-matching: the score criterion by criterion (adds up to `score`). */
  readonly explanation: readonly ScorePart[] | null;
  /** The auto-matching run that staged it. */
  readonly runId: string | null;
  /** Requests only (null otherwise): who asked, which approvals the program required, which are still missing. */
  readonly requestedBy: RequestingParty | null;
  readonly requiredApprovals: readonly ApprovingParty[] | null;
  readonly pendingApprovals: readonly ApprovingParty[] | null;
  readonly requestMessage: string | null;
  readonly expiresAt: string | null;
  /** DECLINED: who declined, and the message sent back to the requester. */
  readonly declinedBy: ApprovingParty | null;
  readonly declineMessage: string | null;
  /** WITHDRAWN or DISCARDED: why, and the match the mentee went into instead (MENTEE_MATCHED). */
  readonly endReason: MatchEndReason | null;
  readonly otherMatchId: string | null;
  readonly closureReason: string | null;
  readonly mentorRematchIntent: RematchIntent | null;
  readonly menteeRematchIntent: RematchIntent | null;
  readonly createdAt: string;
  /** When it went live (null for matches recorded before this was kept, until a rebuild). */
  readonly activatedAt: string | null;
  /** When its duration runs out (set when it goes live). */
  readonly endsAt: string | null;
  readonly completedAt: string | null;
  readonly closedAt: string | null;
  /** When a request or staged match ended without going live (DISCARDED, DECLINED, EXPIRED, WITHDRAWN). */
  readonly endedAt: string | null;
  readonly updatedAt: string;
}

/** What an entry of the history timeline is about. */
export const HISTORY_FIELDS = [
  'REGISTRATION',
  'APPLICATION',
  'USER_STATUS',
  'PERSONA',
  'MATCH_STATUS',
  'PERSONA_STATUS',
  'SITE',
  'MATCH',
  /** Invited to submit mentor preferences. */
  'INVITATION',
  'MENTOR_CAPACITY',
  /** A persona's match ran its full duration. */
  'MATCH_COMPLETION',
  /** The user's e-mail address changed. */
  'EMAIL',
  /** The user's name, company or manager was corrected. */
  'PROFILE',
] as const;
export type HistoryField = (typeof HISTORY_FIELDS)[number];

export interface HistoryEntryView {
  readonly eventId: string;
  readonly userId: string;
  readonly position: GlobalPosition;
  readonly eventType: string;
  readonly occurredAt: string;
  readonly field: HistoryField;
  readonly personaId: string | null;
  readonly matchId: string | null;
  /** For status changes and reverts: the id a revert names. */
  readonly changeId: string | null;
  readonly from: string | null;
  readonly to: string | null;
  /** One sentence an auditor can read, e.g. "User status changed from SI to A". */
  readonly summary: string;
  readonly actorId: string;
  readonly actorRole: string;
  readonly reason: string | null;
  readonly command: string | null;
  readonly correlationId: string;
  /** The change id of the revert that undid this entry, if it was reverted. */
  readonly revertedByChangeId: string | null;
  readonly revertedAt: string | null;
}

export interface UserFilter {
  readonly statuses?: readonly UserStatus[];
  readonly role?: ParticipantRole;
  readonly programId?: string;
  /** A partner site id: users with a persona assigned to it. */
  readonly partnerSiteId?: string;
  /** Case-insensitive substring of the name or e-mail. */
  readonly search?: string;
  /** Only these users (a mentor or mentee reading their own profile). */
  readonly userIds?: readonly string[];
}

export interface Page<T> {
  /** Each item with its opaque cursor (pass it as `after` to read on from there). */
  readonly edges: readonly { readonly node: T; readonly cursor: string }[];
  readonly hasNextPage: boolean;
  readonly hasPreviousPage: boolean;
  readonly totalCount: number;
}

/** A page without its total: what a read returns when the caller did not ask for the count (one query fewer). */
export type PageWithoutTotal<T> = Omit<Page<T>, 'totalCount'>;

/** Keyset pagination: `after` is the cursor of the last item of the previous page. */
export interface PageRequest {
  readonly first: number;
  readonly after?: string;
}

export interface HistoryOptions {
  /** A mentor's or mentee's own view: without the staff-only entries (staged and discarded matches). */
  readonly participantView?: boolean;
  /**
   * How each entry's event reads before its sentence is made from it (analysts: pseudonymised, so
   * a sentence names nobody); default: as it is.
   */
  readonly pseudonymise?: (event: RecordedEvent) => RecordedEvent;
}

export interface LifecycleReadModel {
  program(programId: string): Promise<ProgramView | null>;
  programs(): Promise<readonly ProgramView[]>;
  /** Users ordered by name then id; the cursor is opaque. */
  users(filter: UserFilter, page: PageRequest): Promise<Page<UserView>>;
  /** `users` without the total, and the total alone: a page whose count is not asked for costs one query. */
  usersPage(filter: UserFilter, page: PageRequest): Promise<PageWithoutTotal<UserView>>;
  countUsers(filter: UserFilter): Promise<number>;
  usersByIds(userIds: readonly string[]): Promise<readonly UserView[]>;
  /** All personas of these users, in persona-number order. */
  personasOfUsers(userIds: readonly string[]): Promise<readonly PersonaView[]>;
  matchesByIds(matchIds: readonly string[]): Promise<readonly MatchView[]>;
  /** Newest first; the cursor is opaque. */
  history(userId: string, page: PageRequest, options?: HistoryOptions): Promise<Page<HistoryEntryView>>;
  /** `history` without the total, and the total alone. */
  historyPage(userId: string, page: PageRequest, options?: HistoryOptions): Promise<PageWithoutTotal<HistoryEntryView>>;
  countHistory(userId: string, options?: HistoryOptions): Promise<number>;
}
