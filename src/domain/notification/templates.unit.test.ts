import { DomainError } from '../shared/decider';
import {
  DEFAULT_TEMPLATES,
  NOTIFICATION_KINDS,
  TEMPLATE_PLACEHOLDERS,
  placeholdersIn,
  renderTemplate,
  validateTemplate,
  type NotificationKind,
} from './templates';

const refusal = (run: () => unknown): DomainError => {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal, but the template was accepted');
};

describe('the default templates', () => {
  it.each(NOTIFICATION_KINDS)('%s uses only its own placeholders', (kind) =>
    expect(validateTemplate(kind, DEFAULT_TEMPLATES[kind])).toEqual(DEFAULT_TEMPLATES[kind]));
  it('every kind has a default and a placeholder list', () => {
    expect(Object.keys(DEFAULT_TEMPLATES).sort()).toEqual([...NOTIFICATION_KINDS].sort());
    expect(Object.keys(TEMPLATE_PLACEHOLDERS).sort()).toEqual([...NOTIFICATION_KINDS].sort());
  });
  it('the match request asks for an answer by the expiry; the decline passes the decliner’s message on', () => {
    expect(placeholdersIn(DEFAULT_TEMPLATES.MATCH_REQUEST.body)).toContain('expiresAt');
    expect(placeholdersIn(DEFAULT_TEMPLATES.REQUEST_DECLINED.body)).toContain('message');
  });
});

describe('validateTemplate', () => {
  it('accepts a template with allowed placeholders, trimming the subject', () =>
    expect(validateTemplate('MATCH_ACTIVATED', { subject: '  Meet {{ mentorName }}  ', body: 'Hi {{recipientName}}, until {{endsAt}}.' })).toEqual({
      subject: 'Meet {{ mentorName }}',
      body: 'Hi {{recipientName}}, until {{endsAt}}.',
    }));

  it('refuses an unknown placeholder, naming it and the allowed ones', () => {
    const error = refusal(() => validateTemplate('REQUEST_EXPIRED', { subject: 'Expired', body: 'Sorry {{recipientName}}, ask {{mentorEmail}}.' }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toBe(
      'Unknown placeholder {{mentorEmail}} in the REQUEST_EXPIRED template; it may use {{programName}}, {{recipientName}}, {{mentorName}}, {{menteeName}}.',
    );
    expect(error.details).toEqual({ field: 'template', unknown: ['mentorEmail'] });
  });

  it('lists several unknown placeholders once each, from subject and body', () => {
    const error = refusal(() => validateTemplate('PREFERENCES_INVITATION', { subject: '{{name}}', body: '{{name}} {{deadline}}' }));
    expect(error.message).toContain('Unknown placeholders {{name}}, {{deadline}} in the PREFERENCES_INVITATION template; it may use {{programName}}, {{recipientName}}.');
  });

  it.each(['Line one\nLine two', 'Line one\r\nLine two'])('refuses a subject of more than one line (%j)', (subject) => {
    const error = refusal(() => validateTemplate('MATCH_REQUEST', { subject, body: 'Body' }));
    expect([error.code, error.message, error.details]).toEqual(['VALIDATION_FAILED', 'A notification subject must be one line.', { field: 'subject' }]);
  });

  it.each([
    ['subject', { subject: '  ', body: 'Body' }],
    ['body', { subject: 'Subject', body: ' \n ' }],
  ])('refuses an empty %s', (field, template) => {
    const error = refusal(() => validateTemplate('MATCH_REQUEST', template));
    expect([error.code, error.message, error.details]).toEqual(['VALIDATION_FAILED', 'A notification template needs a subject and a body.', { field }]);
  });

  it('refuses an unknown kind, listing the kinds', () => {
    const error = refusal(() => validateTemplate('WELCOME' as NotificationKind, { subject: 'Hi', body: 'Hi' }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toContain('Notification kind must be one of PREFERENCES_INVITATION, MATCH_REQUEST');
  });
});

describe('placeholdersIn and renderTemplate', () => {
  it('finds placeholders, with or without inner spaces', () => expect(placeholdersIn('{{a}} and {{ b }} but not {c} or {{ }}')).toEqual(['a', 'b']));
  it('fills placeholders from the values', () =>
    expect(renderTemplate('Hello {{recipientName}}, welcome to {{ programName }}.', { recipientName: 'Theo', programName: 'Brooklyn 2025' })).toBe(
      'Hello Theo, welcome to Brooklyn 2025.',
    ));
  it('leaves a placeholder without a value empty', () => expect(renderTemplate('Message: {{message}}.', {})).toBe('Message: .'));
  it('does not read values from the object prototype', () => expect(renderTemplate('{{toString}}', {})).toBe(''));
});
