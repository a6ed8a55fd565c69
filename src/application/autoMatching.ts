import { programDecider, programStream, scorePair, type AutoMatchingRan, type Program, type ScorePart } from '../domain';
import { DomainError, fold } from '../domain/shared/decider';
import type { CommandContext } from '../commands/pipeline';
import type { EventStore, GlobalPosition } from '../eventstore/eventStore';
import { comparePositions } from '../eventstore/eventStore';
import { solveAssignment, type AssignmentSolution } from '../matching/solver/assignment';
import type { MatchingReadModel, AvailableMentorView, UnmatchedMenteeView } from '../../projections/matching/matching.types';
import { pairKey, type ParticipantFacts, type SqlAutoMatchingQueries } from '../../projections/matching/autoMatching.queries';
import type { LifecycleCommands } from './lifecycleCommands';

/**
 * "Run Auto-Matching" (seed 002, issue 5): the program's unmatched mentees and available mentors,
 * scored by its criteria, assigned optimally for its objective, and staged for admin approval (none
 * goes live, nobody is notified). Each staged match carries its score and why; the run itself is
 * recorded on the program with the criteria version it used and its optimality certificate.
 */

export interface MentorSuggestion {
  readonly mentorUserId: string;
  readonly mentorPersonaId: string;
  readonly name: string;
  readonly score: number;
  readonly explanation: readonly ScorePart[];
  readonly capacityLeft: number;
}

export interface AutoMatchingRunResult {
  readonly run: AutoMatchingRan['data'];
  readonly position: GlobalPosition | null;
}

interface Candidates {
  readonly program: Program;
  readonly mentees: readonly UnmatchedMenteeView[];
  readonly mentors: readonly AvailableMentorView[];
  readonly facts: Map<string, ParticipantFacts>;
  readonly forbidden: (mentor: AvailableMentorView, mentee: UnmatchedMenteeView) => string | null;
}

const allPages = async <T>(read: (after: string | undefined) => Promise<{ edges: readonly { node: T; cursor: string }[]; hasNextPage: boolean }>) => {
  const items: T[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await read(after);
    items.push(...page.edges.map((edge) => edge.node));
    if (!page.hasNextPage || page.edges.length === 0) return items;
    after = page.edges.at(-1)!.cursor;
  }
};

/** The key the run's own record is appended under, derived from the caller's. */
const runKey = (idempotencyKey: string): string => `${idempotencyKey}:run`;

export class AutoMatchingService {
  constructor(
    private readonly commands: LifecycleCommands,
    private readonly store: EventStore,
    private readonly matching: MatchingReadModel,
    private readonly queries: SqlAutoMatchingQueries,
    private readonly newId: () => string,
  ) {}

  private async program(programId: string): Promise<Program> {
    const state = fold(programDecider, (await this.store.readStream(programStream(programId))).events as never[]);
    if (state.status === 'NOT_CREATED') throw new DomainError('NOT_FOUND', `Program ${programId} does not exist.`, { programId });
    return state;
  }

  private async candidates(programId: string): Promise<Candidates> {
    const program = await this.program(programId);
    if (program.autoMatching.criteria.length === 0) {
      throw new DomainError(
        'RULE_VIOLATED',
        `Program "${program.name}" has no matching criteria yet; set them (setMatchingCriteria) before running auto-matching.`,
        { programId },
      );
    }
    const mentees = (await allPages((after) => this.matching.unmatchedMentees(programId, { first: 100, ...(after ? { after } : {}) }))).filter(
      // Already staged with someone: the admin decides on that one first.
      (mentee) => mentee.stagedMatches === 0,
    );
    const mentors = await allPages((after) => this.matching.availableMentors(programId, { first: 100, ...(after ? { after } : {}) }));
    const facts = await this.queries.participants([...mentees.map((m) => m.userId), ...mentors.map((m) => m.userId)]);
    const managers = await this.queries.managerByEmail();
    const previous = await this.queries.previousPairs(mentors.map((m) => m.userId));
    const banned = new Set(program.bannedPairs.map((pair) => pairKey(pair.mentorUserId, pair.menteeUserId)));
    const chainOf = (email: string): Set<string> => {
      const chain = new Set<string>();
      for (let current = managers.get(email.toLowerCase()); current && !chain.has(current); current = managers.get(current)) chain.add(current);
      return chain;
    };
    const chains = new Map<string, Set<string>>();
    const chain = (userId: string) => {
      if (!chains.has(userId)) chains.set(userId, chainOf(facts.get(userId)?.email ?? ''));
      return chains.get(userId)!;
    };
    const forbidden = (mentor: AvailableMentorView, mentee: UnmatchedMenteeView): string | null => {
      if (mentor.userId === mentee.userId) return 'the same person';
      if (banned.has(pairKey(mentor.userId, mentee.userId))) return 'an admin banned this pair';
      if (previous.has(pairKey(mentor.userId, mentee.userId))) return 'they were matched before';
      const mentorEmail = (facts.get(mentor.userId)?.email ?? mentor.email).toLowerCase();
      const menteeEmail = (facts.get(mentee.userId)?.email ?? mentee.email).toLowerCase();
      if (chain(mentee.userId).has(mentorEmail) || chain(mentor.userId).has(menteeEmail)) return 'one is in the other\'s reporting line';
      return null;
    };
    return { program, mentees, mentors, facts, forbidden };
  }

  private pairScore(candidates: Candidates, mentor: AvailableMentorView, mentee: UnmatchedMenteeView) {
    const reason = candidates.forbidden(mentor, mentee);
    if (reason !== null) return { feasible: false as const, total: 0, parts: [], violated: reason };
    return scorePair(
      candidates.program.autoMatching.criteria,
      candidates.facts.get(mentor.userId)?.profile ?? {},
      candidates.facts.get(mentee.userId)?.profile ?? {},
    );
  }

  /** The best `first` available mentors for one mentee, with their scores and why. */
  async suggestMentors(menteePersonaId: string, first: number): Promise<readonly MentorSuggestion[]> {
    const programId = await this.queries.personaProgram(menteePersonaId);
    if (programId === null) throw new DomainError('NOT_FOUND', `Mentee persona ${menteePersonaId} does not exist.`, { personaId: menteePersonaId });
    const candidates = await this.candidates(programId);
    const mentee =
      candidates.mentees.find((m) => m.personaId === menteePersonaId) ??
      (await allPages((after) => this.matching.unmatchedMentees(programId, { first: 100, ...(after ? { after } : {}) }))).find(
        (m) => m.personaId === menteePersonaId,
      );
    if (!mentee) {
      throw new DomainError('RULE_VIOLATED', `Persona ${menteePersonaId} is not an unmatched mentee (Active, RTBM) of its program.`, {
        personaId: menteePersonaId,
      });
    }
    if (!candidates.facts.has(mentee.userId)) {
      const more = await this.queries.participants([mentee.userId]);
      for (const [id, fact] of more) candidates.facts.set(id, fact);
    }
    return candidates.mentors
      .map((mentor) => ({ mentor, score: this.pairScore(candidates, mentor, mentee) }))
      .filter(({ score }) => score.feasible)
      .sort((a, b) => b.score.total - a.score.total || a.mentor.name.localeCompare(b.mentor.name))
      .slice(0, first)
      .map(({ mentor, score }) => ({
        mentorUserId: mentor.userId,
        mentorPersonaId: mentor.personaId,
        name: mentor.name,
        score: score.total,
        explanation: score.parts,
        capacityLeft: mentor.capacityLeft,
      }));
  }

  async run(context: CommandContext, programId: string): Promise<AutoMatchingRunResult> {
    // A retried run (same key) answers with the run the first call recorded: run again, it would find
    // those mentees already staged and stage nothing, under a new run id.
    const earlier = context.idempotencyKey ? await this.store.readIdempotencyKey(runKey(context.idempotencyKey)) : null;
    const ran = earlier?.find((event) => event.type === 'AutoMatchingRan');
    if (ran) return { run: ran.data as AutoMatchingRan['data'], position: ran.position };
    const candidates = await this.candidates(programId);
    const { program, mentees, mentors } = candidates;
    const scores = mentees.map((mentee) => mentors.map((mentor) => this.pairScore(candidates, mentor, mentee)));
    const solution: AssignmentSolution = solveAssignment({
      mentees: mentees.length,
      mentors: mentors.length,
      capacity: Int32Array.from(mentors.map((m) => m.capacityLeft)),
      score: (i, j) => {
        const score = scores[i]![j]!;
        return score.feasible ? score.total : Number.NaN;
      },
      objective: program.autoMatching.objective,
    });
    const runId = this.newId();
    const staged: string[] = [];
    let refusedPairs = 0;
    let last: GlobalPosition | null = null;
    for (let i = 0; i < mentees.length; i++) {
      const j = solution.mentorOf[i]!;
      if (j < 0) continue;
      const score = scores[i]![j]!;
      try {
        const { matchId, outcome } = await this.commands.matchPersonas(
          { ...context, ...(context.idempotencyKey ? { idempotencyKey: `${context.idempotencyKey}:${mentees[i]!.personaId}` } : {}) },
          {
            programId,
            mentorPersonaId: mentors[j]!.personaId,
            menteePersonaId: mentees[i]!.personaId,
            stage: true,
            source: 'AUTO',
            score: score.total,
            explanation: score.parts,
            runId,
            criteriaVersion: program.autoMatching.version,
          },
        );
        staged.push(matchId);
        if (outcome.events.length > 0 && (last === null || comparePositions(outcome.position, last) > 0)) last = outcome.position;
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        refusedPairs++;
      }
    }
    const run: AutoMatchingRan['data'] = {
      programId,
      runId,
      criteriaVersion: program.autoMatching.version,
      objective: program.autoMatching.objective,
      menteesConsidered: mentees.length,
      mentorsConsidered: mentors.length,
      stagedMatchIds: staged,
      refusedPairs,
      totalScore: Math.round(solution.totalScore * 100) / 100,
      upperBound: Math.round(solution.upperBound * 100) / 100,
      gap: solution.gap,
      method: solution.method,
    };
    const recorded = await this.commands.onProgram(
      { ...context, ...(context.idempotencyKey ? { idempotencyKey: runKey(context.idempotencyKey) } : {}) },
      { type: 'RecordAutoMatchingRun', data: run },
    );
    return { run, position: recorded.events.length > 0 ? recorded.position : last };
  }
}
