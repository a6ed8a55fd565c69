import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { mintToken } from '../../src/graphql/auth';
import { TOKEN_EXPIRED_CLOSE_CODE } from '../../src/http/server';
import { announcePostgresSkip, sqlBackends } from '../support/databases';
import { startTestApp, type TestApp } from '../support/testApp';

/** Live events over graphql-ws: a subscriber receives what is committed after it subscribed, filtered. */

describe.each(sqlBackends())('event subscriptions on $name', ({ open }) => {
  let t: TestApp;
  let admin: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    t = await startTestApp(await open());
    admin = await t.token('admin', 'alice.admin');
  });
  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await t?.close();
  });

  const connect = (token: string | null) => {
    const client = createClient({
      url: t.http.url.replace(/^http/, 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      retryAttempts: 0,
      lazy: true,
    });
    clients.push(client);
    return client;
  };

  /** Collects `count` events of the subscription, or fails with the server's error. */
  const collect = (client: Client, filter: Record<string, unknown>, count: number) => {
    const received: any[] = [];
    let ready!: () => void;
    const started = new Promise<void>((resolve) => (ready = resolve));
    const done = new Promise<any[]>((resolve, reject) => {
      const unsubscribe = client.subscribe(
        { query: `subscription ($filter: EventLogFilterInput) { events(filter: $filter) { id type streamId metadata { actor { id role } reason } } }`, variables: { filter } },
        {
          next: (message) => {
            if (message.errors) return reject(new Error(JSON.stringify(message.errors)));
            received.push(message.data!.events);
            if (received.length === count) {
              unsubscribe();
              resolve(received);
            }
          },
          error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
          complete: () => resolve(received),
        },
      );
    });
    client.on('connected', () => ready());
    return { started, done };
  };

  const mutate = async (query: string, input: Record<string, unknown>) => {
    const response = await t.gql(query, { input }, { token: admin });
    expect(response.errors).toBeUndefined();
    return response.data!;
  };

  test('an auditor receives the events committed after subscribing, filtered by type, in order', async () => {
    // Written before the subscription: must not arrive.
    const before = await mutate(`mutation ($input: CreateProgramInput!) { createProgram(input: $input) { program { id } } }`, { name: 'Before', timeZone: 'Europe/Paris' });
    const auditor = await t.token('auditor', 'audrey');
    const subscription = collect(connect(auditor), { eventTypes: ['ProgramCreated', 'MatchingTurnedOn'] }, 3);
    await subscription.started;
    // The server subscribes as the operation arrives; give it a moment to register before writing.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const first = await mutate(`mutation ($input: CreateProgramInput!) { createProgram(input: $input) { program { id } } }`, { name: 'After 1', timeZone: 'Europe/Paris', reason: 'live test' });
    await mutate(`mutation ($input: ProgramInput!) { turnMatchingOn(input: $input) { errors { code } } }`, { programId: first.createProgram.program.id });
    await mutate(`mutation ($input: AddClosureReasonInput!) { addClosureReason(input: $input) { errors { code } } }`, { programId: first.createProgram.program.id, closureReason: 'Moved away' });
    await mutate(`mutation ($input: CreateProgramInput!) { createProgram(input: $input) { program { id } } }`, { name: 'After 2', timeZone: 'Europe/Paris' });
    const events = await subscription.done;
    expect(events.map((e) => e.type)).toEqual(['ProgramCreated', 'MatchingTurnedOn', 'ProgramCreated']);
    expect(events[0]).toMatchObject({ streamId: `program-${first.createProgram.program.id}`, metadata: { actor: { id: 'alice.admin', role: 'admin' }, reason: 'live test' } });
    expect(events.some((e) => e.streamId === `program-${before.createProgram.program.id}`)).toBe(false);
  });

  test('a subscription ends with close code 4401 when its token expires, by the server\'s clock', async () => {
    const shortLived = await mintToken({ secret: t.app.config.tokenKeys!, subject: 'audrey', role: 'auditor', expiresIn: 2, now: t.clock.now });
    const client = connect(shortLived);
    const opened = Date.now();
    let connected!: () => void;
    const isConnected = new Promise<void>((resolve) => (connected = resolve));
    client.on('connected', () => connected());
    const ended = new Promise<{ code: number; reason: string }>((resolve, reject) => {
      client.subscribe(
        { query: `subscription { events { id type } }` },
        {
          next: () => undefined,
          error: (error) => resolve(error as { code: number; reason: string }),
          complete: () => reject(new Error('the subscription completed instead of being closed for its expired token')),
        },
      );
    });
    await isConnected;
    const closed = await ended;
    expect(closed).toMatchObject({ code: TOKEN_EXPIRED_CLOSE_CODE, reason: expect.stringContaining('Token expired') });
    expect(Date.now() - opened).toBeGreaterThanOrEqual(1500);

    // A token that outlives the test keeps its socket.
    const longLived = await t.token('auditor', 'audrey');
    const live = collect(connect(longLived), { eventTypes: ['ProgramCreated'] }, 1);
    await live.started;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await mutate(`mutation ($input: CreateProgramInput!) { createProgram(input: $input) { program { id } } }`, { name: 'Still open', timeZone: 'Europe/Paris' });
    expect((await live.done).map((e) => e.type)).toEqual(['ProgramCreated']);
  });

  test('an analyst receives live events pseudonymised: no names or e-mails', async () => {
    const program = await mutate(`mutation ($input: CreateProgramInput!) { createProgram(input: $input) { program { id } } }`, { name: 'Live people', timeZone: 'Europe/Paris' });
    const analyst = await t.token('analyst', 'ana.analyst');
    const received = new Promise<any>((resolve, reject) => {
      const unsubscribe = connect(analyst).subscribe(
        { query: `subscription { events(filter: { eventTypes: ["UserRegistered"] }) { type data } }` },
        {
          next: (message) => {
            if (message.errors) return reject(new Error(JSON.stringify(message.errors)));
            unsubscribe();
            resolve(message.data!.events);
          },
          error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
          complete: () => undefined,
        },
      );
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await mutate(`mutation ($input: RegisterUserInput!) { registerUser(input: $input) { errors { code } } }`, {
      programId: program.createProgram.program.id,
      email: 'lara.live@example.org',
      name: 'Lara Live',
      role: 'MENTEE',
    });
    const event = await received;
    expect(event.type).toBe('UserRegistered');
    expect(JSON.stringify(event)).not.toMatch(/Lara Live|lara\.live@example\.org/);
    expect(event.data.name).toMatch(/^person-[0-9a-f]{16}$/);
  });

  test('connections without a valid token, and roles that may not subscribe, are refused', async () => {
    await expect(collect(connect(null), {}, 1).done).rejects.toBeDefined();
    const mentor = await t.token('mentor', 'maya', 'some-user');
    await expect(collect(connect(mentor), {}, 1).done).rejects.toThrow(/"code":"FORBIDDEN"/);
  });
});

announcePostgresSkip('event subscriptions');
