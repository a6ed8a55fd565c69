import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * One read model, one place: a read model's tables (and their indexes and constraints, named after
 * them) are named only in its own folder, projections/<name>/. Every other module (src/, bench/), the queries that
 * join several read models included, takes the table names, columns and row mappers from the
 * owner's `*.queries.ts`, so renaming a table or a column is a change in one folder.
 */

const ROOT = join(__dirname, '..', '..');
const SCANNED = ['src', 'projections', 'bench'];

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });

const rel = (path: string) => relative(ROOT, path).split(sep).join('/');

/** Which folder of projections/ creates each table: `CREATE TABLE [IF NOT EXISTS] rm_...`. */
const tableOwners = (files: readonly { path: string; text: string }[]): Map<string, string> => {
  const owners = new Map<string, string>();
  for (const { path, text } of files) {
    const folder = /^projections\/([^/]+)\//.exec(path)?.[1];
    if (!folder) continue;
    for (const [, table] of text.matchAll(/CREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(rm_[a-z0-9_]+)/gi)) owners.set(table!, folder);
  }
  return owners;
};

/** The owning folder of a name: the folder of the longest table that is the name or its prefix (an index `rm_users_by_name`). */
const ownerOf = (owners: ReadonlyMap<string, string>, name: string): string | undefined => {
  let best: string | undefined;
  for (const table of owners.keys()) {
    if ((name === table || name.startsWith(`${table}_`)) && (best === undefined || table.length > best.length)) best = table;
  }
  return best === undefined ? undefined : owners.get(best);
};

/** Each place a file names a read model's table (or an `rm_` name no folder declares) outside its owner's folder. */
const violations = (owners: ReadonlyMap<string, string>, files: readonly { path: string; text: string }[]): string[] =>
  files.flatMap(({ path, text }) =>
    [...new Set([...text.matchAll(/\brm_[a-z0-9_]+/g)].map((match) => match[0]))].flatMap((name) => {
      const owner = ownerOf(owners, name);
      if (owner === undefined) return [`${path} names ${name}, which no folder of projections/ creates`];
      return path.startsWith(`projections/${owner}/`) ? [] : [`${path} names ${name}, a table of projections/${owner}/: import it from there`];
    }),
  );

describe('read model ownership', () => {
  const files = SCANNED.flatMap((dir) => sourceFiles(join(ROOT, dir))).map((path) => ({ path: rel(path), text: readFileSync(path, 'utf8') }));
  const owners = tableOwners(files);

  it('finds the read models’ tables in their folders', () => {
    expect(Object.fromEntries([...owners].filter(([table]) => ['rm_users', 'rm_personas', 'rm_matches', 'rm_programs', 'rm_user_history', 'rm_event_log'].includes(table)))).toEqual({
      rm_users: 'users',
      rm_personas: 'users',
      rm_matches: 'matches',
      rm_programs: 'programs',
      rm_user_history: 'userHistory',
      rm_event_log: 'eventLogIndex',
    });
  });

  it('names each table only in the folder that owns it', () => {
    expect(violations(owners, files)).toEqual([]);
  });

  it('reports a query outside the owner that names the table, its index or an unknown table', () => {
    const strays = [
      { path: 'projections/matching/stray.queries.ts', text: 'const sql = `SELECT name FROM rm_users u JOIN rm_matches m ON m.mentor_user_id = u.user_id`;' },
      { path: 'src/audit/stray.ts', text: '// reads rm_users_by_name and rm_nothing' },
      { path: 'projections/users/users.queries.ts', text: 'export const USERS_TABLE = `rm_users`;' },
    ];
    expect(violations(owners, strays)).toEqual([
      'projections/matching/stray.queries.ts names rm_users, a table of projections/users/: import it from there',
      'projections/matching/stray.queries.ts names rm_matches, a table of projections/matches/: import it from there',
      'src/audit/stray.ts names rm_users_by_name, a table of projections/users/: import it from there',
      'src/audit/stray.ts names rm_nothing, which no folder of projections/ creates',
    ]);
  });
});
