import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { mintToken } from '../../src/graphql/auth';
import { TEST_TOKEN_SECRET } from '../support/tokens';
import { builtTree } from '../support/builtTree';

/*
 * The image's start-up outside Docker: docker/start.sh runs the compiled server as an unprivileged
 * user (nobody, as the image runs as node) from an application directory that user cannot write
 * (the image's /app is root's and read-only), with a data directory it can (the image's /data
 * volume). The same layout as the runtime stage of the Dockerfile: package.json, node_modules,
 * dist and docker/ side by side. E-mail goes to a real SMTP server in this process, as the stack's
 * goes to Mailpit through SMTP_URL.
 *
 * Needs root (to switch to nobody with setpriv); skipped loudly otherwise.
 */

const root = join(__dirname, '..', '..');
const UNPRIVILEGED = { uid: 65534, gid: 65534 }; // nobody:nogroup
const canSwitchUser = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });

/** Runs the start script as nobody; `env` is all it gets besides PATH. */
const startAsNobody = (appDir: string, env: Record<string, string>): { child: ChildProcess; output: () => string } => {
  let output = '';
  const child = spawn(
    'setpriv',
    [`--reuid=${UNPRIVILEGED.uid}`, `--regid=${UNPRIVILEGED.gid}`, '--clear-groups', join(appDir, 'docker', 'start.sh')],
    { env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', ...env }, cwd: '/' },
  );
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
};

const exited = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', (code) => resolve(code)));

if (canSwitchUser) {
  describe('docker/start.sh as an unprivileged user, read-only code, writable data', () => {
    let work: string;
    let appDir: string;

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'image-'));
      chmodSync(work, 0o755);
      appDir = join(work, 'app');
      mkdirSync(join(appDir, 'docker'), { recursive: true });
      // The build stage: what `npm run build` compiles, copied into the application directory (one
      // build shared with the other tests that run built code, test/support/builtTree.ts).
      cpSync(join(await builtTree(), 'dist'), join(appDir, 'dist'), { recursive: true });
      copyFileSync(join(root, 'package.json'), join(appDir, 'package.json'));
      // The image copies its node_modules in; so does this, as hard links (no data copied). A link to
      // the checkout's would not do: nobody cannot follow it when the checkout sits in a directory
      // only its owner may enter (a clone in `mktemp -d`, mode 0700).
      const linked = spawnSync('cp', ['-al', join(root, 'node_modules'), join(appDir, 'node_modules')]);
      if (linked.status !== 0) {
        rmSync(join(appDir, 'node_modules'), { recursive: true, force: true });
        cpSync(join(root, 'node_modules'), join(appDir, 'node_modules'), { recursive: true, verbatimSymlinks: true });
      }
      for (const file of ['start.sh', 'healthcheck.mjs']) copyFileSync(join(root, 'docker', file), join(appDir, 'docker', file));
      chmodSync(join(appDir, 'docker', 'start.sh'), 0o755);
      // As the runtime stage leaves it: root's, and nobody may write none of it.
      const readOnly = (path: string): void => {
        const stat = statSync(path);
        if (stat.isDirectory()) {
          for (const name of readdirSync(path)) if (name !== 'node_modules') readOnly(join(path, name));
          chmodSync(path, 0o555);
        } else chmodSync(path, stat.mode & 0o555);
      };
      readOnly(appDir);
    }, 960_000);

    afterAll(() => {
      chmodSync(appDir, 0o755);
      rmSync(work, { recursive: true, force: true });
    });

    test('the user cannot write the code: the script is what runs, not a writable copy', () => {
      const probe = spawnSync('setpriv', [`--reuid=${UNPRIVILEGED.uid}`, `--regid=${UNPRIVILEGED.gid}`, '--clear-groups', 'sh', '-c', `: > ${join(appDir, 'dist', 'x')}`]);
      expect(probe.status).not.toBe(0);
    });

    test('a data directory the user cannot write: refused at once with a message saying what to mount', async () => {
      const dataDir = join(work, 'root-owned-data');
      mkdirSync(dataDir, { mode: 0o755 });
      const { child, output } = startAsNobody(appDir, { DATA_DIR: dataDir, AUTH_TOKEN_SECRET: TEST_TOKEN_SECRET });
      expect(await exited(child)).toBe(78);
      expect(output()).toMatch(/DATA_DIR .*root-owned-data is not writable by nobody \(uid 65534\)\. Mount a volume there/);
    });

    test('with a writable data directory it serves, keeps its store there, passes the health check and sends mail over SMTP', async () => {
      const dataDir = join(work, 'data');
      mkdirSync(dataDir, { mode: 0o700 });
      chownSync(dataDir, UNPRIVILEGED.uid, UNPRIVILEGED.gid);
      const received: string[] = [];
      const smtp = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        onData(stream, _session, callback) {
          let raw = '';
          stream.on('data', (chunk: Buffer) => (raw += chunk.toString()));
          stream.on('end', () => {
            received.push(raw);
            callback();
          });
        },
      });
      await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
      const smtpPort = (smtp.server.address() as AddressInfo).port;
      const port = await freePort();
      const { child, output } = startAsNobody(appDir, {
        DATA_DIR: dataDir,
        HOST: '127.0.0.1',
        PORT: String(port),
        NODE_ENV: 'production',
        AUTH_TOKEN_SECRET: TEST_TOKEN_SECRET,
        SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        NOTIFICATION_POLL_MS: '200',
        LOG_LEVEL: 'warn',
      });
      try {
        const base = `http://127.0.0.1:${port}`;
        const healthy = (): boolean =>
          spawnSync(process.execPath, [join(appDir, 'docker', 'healthcheck.mjs')], { env: { PORT: String(port) } }).status === 0;
        const deadline = Date.now() + 120_000;
        while (!healthy()) {
          if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the server did not become healthy:\n${output()}`);
          await new Promise((resolve) => setTimeout(resolve, 500));
        }

        // The embedded store lives in the data directory, owned by the service's user.
        const written = readdirSync(dataDir);
        expect(written.length).toBeGreaterThan(0);
        for (const name of written) expect(statSync(join(dataDir, name)).uid).toBe(UNPRIVILEGED.uid);

        const token = await mintToken({ secret: TEST_TOKEN_SECRET, role: 'admin', subject: 'alice', expiresIn: '1h' });
        let position = '';
        /** One mutation as a frontend sends it; its payload must carry no errors. */
        const mutate = async (name: string, inputType: string, input: Record<string, unknown>, select = '') => {
          const response = await fetch(`${base}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(position ? { 'x-consistent-with': position } : {}) },
            body: JSON.stringify({ query: `mutation ($input: ${inputType}!) { ${name}(input: $input) { errors { code message } position ${select} } }`, variables: { input } }),
          });
          const body = (await response.json()) as { data?: Record<string, any>; errors?: unknown[] };
          expect(body.errors).toBeUndefined();
          const payload = body.data![name] as Record<string, any>;
          expect(payload.errors).toEqual([]);
          position = payload.position as string;
          return payload;
        };
        // The README's first session, then a live match, which e-mails both people.
        const created = await mutate('createProgram', 'CreateProgramInput', { name: 'Riverside 2026', timeZone: 'America/New_York' }, 'program { id }');
        const programId = created.program.id as string;
        await mutate('turnMatchingOn', 'ProgramInput', { programId });
        const person = async (email: string, name: string, role: string) => {
          const registered = await mutate('registerUser', 'RegisterUserInput', { programId, email, name, role }, 'user { id }');
          const userId = registered.user.id as string;
          await mutate('completeApplication', 'UserInput', { userId });
          await mutate('changeUserStatus', 'ChangeUserStatusInput', { userId, status: 'A' });
          return `${userId}:p1`;
        };
        const mentor = await person('maya@example.org', 'Maya', 'MENTOR');
        const mentee = await person('ana@example.org', 'Ana', 'MENTEE');
        await mutate('matchPersonas', 'MatchPersonasInput', { programId, mentorPersonaId: mentor, menteePersonaId: mentee });

        // The background worker of the running server sends the assignment e-mails on its own.
        const mailDeadline = Date.now() + 60_000;
        while (received.length < 2 && Date.now() < mailDeadline) await new Promise((resolve) => setTimeout(resolve, 250));
        expect(received).toHaveLength(2);
        expect(received.join('\n')).toMatch(/maya@example\.org/);
        expect(received.join('\n')).toMatch(/ana@example\.org/);
      } finally {
        child.kill('SIGTERM');
        await exited(child);
        await new Promise<void>((resolve) => smtp.close(() => resolve()));
      }
      // A clean stop on SIGTERM (the script exec'd node, so node got the signal itself).
      expect(child.signalCode === null ? child.exitCode : child.signalCode).toBe(0);
    }, 240_000);
  });
} else {
  console.warn('\n*** docker/start.sh test SKIPPED: it needs root and setpriv to run the server as nobody. ***\n');
  test.skip('docker/start.sh as an unprivileged user (skipped: not root or no setpriv)', () => undefined);
}
