import { DeciderSpecification } from '../shared/deciderSpecification';
import { initiativeDecider, type CreateInitiative } from './initiative';

const given = DeciderSpecification.for(initiativeDecider);
const create = (data: Partial<CreateInitiative['data']> = {}): CreateInitiative => ({
  type: 'CreateInitiative',
  data: { initiativeId: 'ini-1', name: ' Read with me ', company: 'Acme', timeZone: 'europe/paris', managerValidationRequired: true, ...data },
});
const created = {
  type: 'InitiativeCreated' as const,
  data: { initiativeId: 'ini-1', name: 'Read with me', company: 'Acme', timeZone: 'Europe/Paris', managerValidationRequired: true },
};

describe('CreateInitiative', () => {
  it('creates it, trimming names and spelling the time zone canonically', () => given([]).when(create()).then([created]));
  it('refuses a second creation', () => given([created]).when(create()).thenThrows('ALREADY_EXISTS'));
  it('refuses an unknown time zone or an offset', () => {
    given([]).when(create({ timeZone: 'Mars/Olympus' })).thenThrows('VALIDATION_FAILED', 'IANA');
    given([]).when(create({ timeZone: '+01:00' })).thenThrows('VALIDATION_FAILED');
  });
  it('refuses an empty name or company', () => {
    given([]).when(create({ name: ' ' })).thenThrows('VALIDATION_FAILED');
    given([]).when(create({ company: '' })).thenThrows('VALIDATION_FAILED');
  });
});
