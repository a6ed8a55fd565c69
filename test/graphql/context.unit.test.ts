import { Writable } from 'node:stream';
import { GraphQLError } from 'graphql';
import { mintToken } from '../../src/graphql/auth';
import { TEST_TOKEN_SECRET } from '../support/tokens';
import { commandContext, createContextFactory, defineLoader } from '../../src/graphql/context';
import { createLogger } from '../../src/log';

const now = new Date('2030-01-01T00:00:00Z');
const logger = createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, done) => done() }) });
let ids = 0;
const factory = createContextFactory({
  secret: TEST_TOKEN_SECRET,
  clock: () => now,
  services: { greeting: 'hi' },
  logger,
  newId: () => `id-${++ids}`,
});

describe('context factory', () => {
  it('makes anonymous contexts without a token', async () => {
    const context = await factory({ headers: {}, requestId: 'req-1' });
    expect(context).toMatchObject({ actor: null, requestId: 'req-1', services: { greeting: 'hi' } });
    expect(context.now()).toBe(now);
    expect(() => commandContext(context)).toThrow('Sign in first');
  });

  it('verifies the token against the injected clock and exposes the user id', async () => {
    const token = await mintToken({ secret: TEST_TOKEN_SECRET, subject: 'bob', role: 'mentee', userId: 'user-9', name: 'Bob', expiresIn: 60, now });
    const context = await factory({ headers: { authorization: `Bearer ${token}`, 'x-correlation-id': 'flow-1' } });
    expect(context).toMatchObject({ actor: { id: 'bob', role: 'mentee' }, userId: 'user-9', correlationId: 'flow-1' });
    // A participant acts in the log under their user id, not the token subject (often an e-mail, which must stay erasable).
    expect(commandContext(context, { reason: 'asked by phone' })).toEqual({
      actor: { id: 'user-9', role: 'mentee' },
      now: '2030-01-01T00:00:00.000Z',
      correlationId: 'flow-1',
      reason: 'asked by phone',
    });
  });

  it('fails a bad token with UNAUTHENTICATED and HTTP 401', async () => {
    const failure = factory({ headers: { authorization: 'Bearer x.y.z' } });
    await expect(failure).rejects.toBeInstanceOf(GraphQLError);
    await expect(failure).rejects.toMatchObject({ extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
  });

  it('gives each request its own DataLoaders', async () => {
    const batches: string[][] = [];
    const upper = defineLoader(async (keys: readonly string[]) => {
      batches.push([...keys]);
      return keys.map((key) => key.toUpperCase());
    });
    const first = await factory({ headers: {} });
    const second = await factory({ headers: {} });
    expect(upper(first)).toBe(upper(first));
    expect(upper(first)).not.toBe(upper(second));
    await expect(Promise.all([upper(first).load('a'), upper(first).load('b'), upper(first).load('a')])).resolves.toEqual(['A', 'B', 'A']);
    await upper(second).load('a');
    expect(batches).toEqual([['a', 'b'], ['a']]);
  });
});
