import { Writable } from 'node:stream';
import { ValidationError } from 'class-validator';
import { GraphQLError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import { DomainError } from '../../src/domain/shared/decider';
import { IdempotencyKeyReusedError, WrongExpectedRevisionError } from '../../src/eventstore/eventStore';
import { attempt, clientError, createErrorReporting, toUserErrors } from '../../src/graphql/errors';
import { createLogger } from '../../src/log';

const validationError = (property: string, constraints?: Record<string, string>, children: ValidationError[] = []) =>
  Object.assign(new ValidationError(), { property, constraints, children });

describe('toUserErrors', () => {
  it('turns a DomainError into a UserError with its code, field and details', () => {
    expect(toUserErrors(new DomainError('ILLEGAL_TRANSITION', 'A closed match cannot be reopened.', { field: 'status', position: 12n }))).toEqual([
      { code: 'ILLEGAL_TRANSITION', message: 'A closed match cannot be reopened.', field: 'status', details: { field: 'status', position: '12' } },
    ]);
  });

  it('turns nested validation errors into one VALIDATION_FAILED per field', () => {
    const errors = [
      validationError('email', { isEmail: 'email must be an email address' }),
      validationError('address', undefined, [validationError('city', { isNotEmpty: 'city should not be empty', maxLength: 'city is too long' })]),
    ];
    const expected = [
      { code: 'VALIDATION_FAILED', message: 'email must be an email address.', field: 'email', details: { constraints: ['email must be an email address'] } },
      {
        code: 'VALIDATION_FAILED',
        message: 'city should not be empty; city is too long.',
        field: 'address.city',
        details: { constraints: ['city should not be empty', 'city is too long'] },
      },
    ];
    expect(toUserErrors(new ArgumentValidationError(errors))).toEqual(expected);
    expect(toUserErrors(errors)).toEqual(expected);
  });

  it('turns store conflicts into CONCURRENCY_CONFLICT and IDEMPOTENCY_KEY_REUSED', () => {
    expect(toUserErrors(new WrongExpectedRevisionError('user-1', 3, 4))[0]).toMatchObject({
      code: 'CONCURRENCY_CONFLICT',
      details: { streamId: 'user-1', expected: 3, actual: 4 },
    });
    expect(toUserErrors(new IdempotencyKeyReusedError('k-1'))[0]).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { idempotencyKey: 'k-1' } });
  });

  it('rethrows anything else: bugs and outages are not refusals', () => {
    const bug = new TypeError('x is undefined');
    expect(() => toUserErrors(bug)).toThrow(bug);
  });

  it('backs attempt(), which returns refusals as data', async () => {
    await expect(attempt(async () => 42)).resolves.toEqual({ ok: true, value: 42 });
    await expect(attempt(() => Promise.reject(new DomainError('NOT_FOUND', 'No such user.')))).resolves.toMatchObject({
      ok: false,
      errors: [{ code: 'NOT_FOUND', message: 'No such user.' }],
    });
    await expect(attempt(() => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
  });
});

describe('formatError', () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'error',
    destination: new Writable({ write: (chunk, _e, done) => (lines.push(JSON.parse(String(chunk))), done()) }),
  });
  const { formatError } = createErrorReporting({ logger });
  const format = (error: unknown) => formatError({ message: error instanceof Error ? error.message : String(error) }, error);

  it('keeps client errors with a code and drops internal extensions', () => {
    const error = clientError('QUERY_TOO_DEEP', 'Too deep.', { status: 400, extensions: { depth: 20 } });
    expect(format(error)).toEqual({ message: 'Too deep.', extensions: { code: 'QUERY_TOO_DEEP', depth: 20 } });
  });

  it('maps a DomainError wrapped by graphql-js to its code', () => {
    const wrapped = new GraphQLError('ignored', { originalError: new DomainError('FORBIDDEN', 'Admins only.') });
    expect(format(wrapped)).toEqual({ message: 'Admins only.', extensions: { code: 'FORBIDDEN' } });
  });

  it('hides anything else and logs it even outside a request', () => {
    const wrapped = new GraphQLError('password=hunter2', { originalError: new Error('password=hunter2') });
    expect(format(wrapped)).toEqual({ message: 'Something went wrong on our side; the error was logged.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(lines)).toContain('password=hunter2');
    expect(format(new GraphQLError('Cannot return null for non-nullable field Query.x.')).extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
  });
});
