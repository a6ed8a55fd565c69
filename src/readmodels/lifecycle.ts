import type { GlobalPosition } from '../eventstore/eventStore';
import type { MatchStatus, ParticipantRole, PersonaStatus, ProgramSettings, RematchIntent, Site, UserStatus } from '../domain';

/** Read-side rows of the participant lifecycle, as the projections in `projections/` keep them. */

export interface ProgramView {
  readonly programId: string;
  readonly name: string;
  readonly timeZone: string;
  readonly settings: ProgramSettings;
  readonly partnerSites: readonly Site[];
  readonly mentorSiteLists: readonly Site[];
  readonly closureReasons: readonly string[];
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
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type MatchViewStatus = 'ACTIVE' | 'CLOSED';

export interface MatchView {
  readonly matchId: string;
  readonly programId: string;
  readonly mentorUserId: string;
  readonly mentorPersonaId: string;
  readonly menteeUserId: string;
  readonly menteePersonaId: string;
  readonly status: MatchViewStatus;
  readonly closureReason: string | null;
  readonly mentorRematchIntent: RematchIntent | null;
  readonly menteeRematchIntent: RematchIntent | null;
  readonly createdAt: string;
  readonly closedAt: string | null;
  readonly updatedAt: string;
}

/** What an entry of the history timeline is about. */
export type HistoryField =
  | 'REGISTRATION'
  | 'APPLICATION'
  | 'USER_STATUS'
  | 'PERSONA'
  | 'MATCH_STATUS'
  | 'PERSONA_STATUS'
  | 'SITE'
  | 'MATCH';

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

/** Keyset pagination: `after` is the cursor of the last item of the previous page. */
export interface PageRequest {
  readonly first: number;
  readonly after?: string;
}

export interface LifecycleReadModel {
  program(programId: string): Promise<ProgramView | null>;
  programs(): Promise<readonly ProgramView[]>;
  /** Users ordered by name then id; the cursor is opaque. */
  users(filter: UserFilter, page: PageRequest): Promise<Page<UserView>>;
  usersByIds(userIds: readonly string[]): Promise<readonly UserView[]>;
  /** All personas of these users, in persona-number order. */
  personasOfUsers(userIds: readonly string[]): Promise<readonly PersonaView[]>;
  matchesByIds(matchIds: readonly string[]): Promise<readonly MatchView[]>;
  /** Newest first; the cursor is opaque. */
  history(userId: string, page: PageRequest): Promise<Page<HistoryEntryView>>;
}
