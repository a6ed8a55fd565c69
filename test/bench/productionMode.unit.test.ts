import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * The benchmarks measure the server in the mode it is deployed in (the image sets NODE_ENV=production):
 * graphql-js decides once, when it loads, whether to run its development-mode checks, so the mode must
 * be set before anything imports it.
 */

describe('the benchmarks run in production mode', () => {
  const before = process.env.NODE_ENV;
  afterEach(() => {
    if (before === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = before;
  });

  it('sets NODE_ENV=production when the caller did not set it, and keeps a value the caller set', () => {
    delete process.env.NODE_ENV;
    jest.isolateModules(() => {
      require('../../bench/productionMode');
    });
    expect(process.env.NODE_ENV).toBe('production');

    process.env.NODE_ENV = 'development';
    jest.isolateModules(() => {
      require('../../bench/productionMode');
    });
    expect(process.env.NODE_ENV).toBe('development');
  });

  it('is the first thing the bench runner imports, before anything that loads graphql', () => {
    const source = readFileSync(join(__dirname, '..', '..', 'bench', 'index.ts'), 'utf8');
    const imports = [...source.matchAll(/^import\s[^;]*?['"]([^'"]+)['"];/gms)].map((match) => match[1]);
    expect(imports[0]).toBe('./productionMode');
  });
});
