import { createHash } from 'node:crypto';
import type { DomainEvent } from '../../eventstore/eventStore';
import { DomainError, type Decider } from '../shared/decider';
import { requireEmail } from '../shared/validation';

/**
 * The bi-weekly manager report (seed 004) as a fact: which rows a manager was sent for which
 * two-week period. One stream per manager; a period's report is issued once, so several scheduler
 * instances (or a retry) never send it twice, and an auditor can see exactly what a manager received.
 */

/** What one row of the report says (the mentee's name is never part of it). */
export interface ManagerReportLine {
  readonly matchingStatus: string;
  /** The employee's role, "Mentor" or "Mentee"; absent on reports issued when only mentors were listed. */
  readonly role?: 'Mentor' | 'Mentee';
  readonly upcomingMeetings: number;
  readonly completedMeetings: number;
  readonly program: string;
  readonly company: string;
  readonly mentorName: string;
  readonly mentorEmail: string;
  /**
   * The mentor's user id: whose erasure erases this line (ids are random, so the address does not
   * give it). Absent in reports issued before it was recorded: their lines are the mentor's by the
   * id the address would have as a user.
   */
  readonly mentorUserId?: string;
  readonly registered: string;
  /** "Mentee" where the row is about a match, blank where there is no mentee. */
  readonly menteeName: 'Mentee' | '';
  readonly matchDate: string;
}

export type ManagerReportIssued = DomainEvent<
  'ManagerReportIssued',
  {
    readonly managerEmail: string;
    /** The two-week period, e.g. "2026-11-16/2026-11-29" (Monday to Sunday, UTC dates). */
    readonly period: string;
    readonly lines: readonly ManagerReportLine[];
  }
>;
export type ManagerReportEvent = ManagerReportIssued;

export type IssueManagerReport = {
  readonly type: 'IssueManagerReport';
  readonly data: { readonly managerEmail: string; readonly period: string; readonly lines: readonly ManagerReportLine[] };
};

export interface ManagerReportState {
  readonly periodsIssued: readonly string[];
}

export const managerReportStream = (managerEmail: string): string =>
  `manager-report-${createHash('sha256').update(managerEmail.trim().toLowerCase()).digest('hex').slice(0, 32)}`;

/** Two-week periods counted from Monday 1 January 2024 (UTC). */
const EPOCH = Date.UTC(2024, 0, 1);
const DAY = 86_400_000;
export const biweeklyPeriod = (now: string): string => {
  const index = Math.floor((Date.parse(now) - EPOCH) / (14 * DAY));
  const start = new Date(EPOCH + index * 14 * DAY);
  const end = new Date(start.getTime() + 13 * DAY);
  return `${start.toISOString().slice(0, 10)}/${end.toISOString().slice(0, 10)}`;
};

export const managerReportDecider: Decider<IssueManagerReport, ManagerReportState, ManagerReportEvent> = {
  initialState: () => ({ periodsIssued: [] }),
  evolve: (state, event) => ({ periodsIssued: [...state.periodsIssued, event.data.period] }),
  decide: (command, state) => {
    const managerEmail = requireEmail('Manager e-mail', command.data.managerEmail).toLowerCase();
    if (state.periodsIssued.includes(command.data.period)) {
      throw new DomainError('ALREADY_EXISTS', `The manager report for ${command.data.period} was already sent to ${managerEmail}.`, {
        period: command.data.period,
      });
    }
    if (command.data.lines.some((line) => line.menteeName !== 'Mentee' && line.menteeName !== '')) {
      throw new Error('A manager report line must never carry a mentee name.');
    }
    return [{ type: 'ManagerReportIssued', data: { managerEmail, period: command.data.period, lines: command.data.lines } }];
  },
};
