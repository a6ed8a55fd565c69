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

  it("names the request, its trace and its span on every line the request's logger writes", async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const logging = createContextFactory({ secret: TEST_TOKEN_SECRET, clock: () => now, services: {}, logger: createLogger({ level: 'info', destination }) });
    const traced = await logging({ headers: { 'x-correlation-id': 'flow-2' }, requestId: 'r-1', traceId: 't-1', spanId: 's-1' });
    traced.logger.info('traced');
    traced.logger.child({ component: 'x' }).warn('child of it');
    const plain = await logging({ headers: {}, requestId: 'r-2' });
    plain.logger.info('untraced');
    expect(lines.map(({ msg, requestId, traceId, spanId, correlationId }) => ({ msg, requestId, traceId, spanId, correlationId }))).toEqual([
      { msg: 'traced', requestId: 'r-1', traceId: 't-1', spanId: 's-1', correlationId: 'flow-2' },
      { msg: 'child of it', requestId: 'r-1', traceId: 't-1', spanId: 's-1', correlationId: 'flow-2' },
      { msg: 'untraced', requestId: 'r-2', traceId: undefined, spanId: undefined, correlationId: expect.any(String) },
    ]);
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
