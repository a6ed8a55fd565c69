import type {
  HistoryEntryView,
  HistoryOptions,
  LifecycleReadModel,
  MatchView,
  Page,
  PageRequest,
  PageWithoutTotal,
  PersonaView,
  ProgramView,
  UserFilter,
  UserView,
} from './lifecycle.types';
import type { SqlExecutor } from '../../src/sql/sqlDatabase';
import { SqlMatchQueries } from '../matches/matches.queries';
import { SqlProgramQueries } from '../programs/programs.queries';
import { SqlUserHistoryQueries, type HistoryEvents } from '../userHistory/userHistory.queries';
import { SqlUserQueries } from '../users/users.queries';

export type { HistoryEvents } from '../userHistory/userHistory.queries';

/**
 * The lifecycle read model: programs, users and personas, matches and the user history, each asked
 * of the read model that keeps it (its folder's `*.queries.ts` owns its tables and SQL). Reads
 * only: it never writes, and it sees whatever the runner has applied so far.
 */
export class SqlLifecycleReadModel implements LifecycleReadModel {
  private readonly programQueries: SqlProgramQueries;
  private readonly userQueries: SqlUserQueries;
  private readonly matchQueries: SqlMatchQueries;
  private readonly historyQueries: SqlUserHistoryQueries;

  constructor(db: SqlExecutor, events: HistoryEvents) {
    this.programQueries = new SqlProgramQueries(db);
    this.userQueries = new SqlUserQueries(db);
    this.matchQueries = new SqlMatchQueries(db);
    this.historyQueries = new SqlUserHistoryQueries(db, events);
  }

  program(programId: string): Promise<ProgramView | null> {
    return this.programQueries.program(programId);
  }

  programs(): Promise<readonly ProgramView[]> {
    return this.programQueries.programs();
  }

  async users(filter: UserFilter, page: PageRequest): Promise<Page<UserView>> {
    const [rows, totalCount] = await Promise.all([this.usersPage(filter, page), this.countUsers(filter)]);
    return { ...rows, totalCount };
  }

  usersPage(filter: UserFilter, page: PageRequest): Promise<PageWithoutTotal<UserView>> {
    return this.userQueries.usersPage(filter, page);
  }

  countUsers(filter: UserFilter): Promise<number> {
    return this.userQueries.countUsers(filter);
  }

  usersByIds(userIds: readonly string[]): Promise<readonly UserView[]> {
    return this.userQueries.usersByIds(userIds);
  }

  personasOfUsers(userIds: readonly string[]): Promise<readonly PersonaView[]> {
    return this.userQueries.personasOfUsers(userIds);
  }

  matchesByIds(matchIds: readonly string[]): Promise<readonly MatchView[]> {
    return this.matchQueries.matchesByIds(matchIds);
  }

  history(userId: string, page: PageRequest, options: HistoryOptions = {}): Promise<Page<HistoryEntryView>> {
    return this.historyQueries.history(userId, page, options);
  }

  historyPage(userId: string, page: PageRequest, options: HistoryOptions = {}): Promise<PageWithoutTotal<HistoryEntryView>> {
    return this.historyQueries.historyPage(userId, page, options);
  }

  countHistory(userId: string, options: HistoryOptions = {}): Promise<number> {
    return this.historyQueries.countHistory(userId, options);
  }
}
