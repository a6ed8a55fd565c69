import type { DomainEvent } from '../../eventstore/eventStore';
import { DomainError, assertNever, type Decider } from '../shared/decider';
import { requireEmailAddress, requireText } from '../shared/validation';
import { canonicalTimeZone } from '../program/program';

/**
 * A company's mentoring initiative (seed 003): its employees register as volunteers and find their
 * mentee themselves, outside the system. The company says whether a volunteer's manager must
 * approve the engagement dates. Stream: `initiative-<id>`.
 */

export const initiativeStream = (initiativeId: string): string => `initiative-${initiativeId}`;

export type CreateInitiative = {
  readonly type: 'CreateInitiative';
  readonly data: {
    readonly initiativeId: string;
    readonly name: string;
    readonly company: string;
    /** IANA name; reminders count months and quarters in it. */
    readonly timeZone: string;
    readonly managerValidationRequired: boolean;
    /** Where the volunteers' messages to the coordinator are e-mailed (a team mailbox); none: they are kept, not e-mailed. */
    readonly coordinatorEmail?: string | null;
  };
};

export type InitiativeCommand = CreateInitiative;

export type InitiativeCreated = DomainEvent<
  'InitiativeCreated',
  {
    readonly initiativeId: string;
    readonly name: string;
    readonly company: string;
    readonly timeZone: string;
    readonly managerValidationRequired: boolean;
    /** Absent on initiatives created before messages existed. */
    readonly coordinatorEmail?: string | null;
  }
>;

export type InitiativeEvent = InitiativeCreated;

export const INITIATIVE_EVENT_TYPES = ['InitiativeCreated'] as const satisfies readonly InitiativeEvent['type'][];

export interface Initiative extends Readonly<InitiativeCreated['data']> {
  readonly status: 'CREATED';
}
export type InitiativeState = { readonly status: 'NOT_CREATED' } | Initiative;

export const requireInitiative = (state: InitiativeState, initiativeId: string): Initiative => {
  if (state.status === 'NOT_CREATED') {
    throw new DomainError('NOT_FOUND', `Initiative ${initiativeId} does not exist.`, { initiativeId });
  }
  return state;
};

const decide = (command: InitiativeCommand, state: InitiativeState): InitiativeEvent[] => {
  switch (command.type) {
    case 'CreateInitiative': {
      const { data } = command;
      if (state.status === 'CREATED') {
        throw new DomainError('ALREADY_EXISTS', `Initiative ${data.initiativeId} already exists ("${state.name}").`, {
          initiativeId: data.initiativeId,
        });
      }
      const timeZone = canonicalTimeZone(data.timeZone);
      if (timeZone === null) {
        throw new DomainError(
          'VALIDATION_FAILED',
          `"${data.timeZone}" is not an IANA time zone; use a name such as "America/New_York" or "Europe/Paris".`,
          { field: 'timeZone' },
        );
      }
      return [
        {
          type: 'InitiativeCreated',
          data: {
            initiativeId: requireText('Initiative id', data.initiativeId),
            name: requireText('Initiative name', data.name),
            company: requireText('Company', data.company),
            timeZone,
            managerValidationRequired: data.managerValidationRequired,
            ...(data.coordinatorEmail?.trim() ? { coordinatorEmail: requireEmailAddress('Coordinator e-mail', data.coordinatorEmail) } : {}),
          },
        },
      ];
    }
    default:
      return assertNever(command.type);
  }
};

const evolve = (state: InitiativeState, event: InitiativeEvent): InitiativeState => {
  switch (event.type) {
    case 'InitiativeCreated':
      return state.status === 'NOT_CREATED' ? { status: 'CREATED', ...event.data } : state;
    default:
      return state;
  }
};

export const initiativeDecider: Decider<InitiativeCommand, InitiativeState, InitiativeEvent> = {
  initialState: () => ({ status: 'NOT_CREATED' }),
  evolve,
  decide,
};
