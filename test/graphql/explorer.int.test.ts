import { startTestServer, type TestServer } from './testServer';

/*
 * The explorer must work on a machine without internet access: the page and everything it loads
 * come from this server. Checked without a browser: the HTML references only relative URLs, each
 * of them answers 200 with a script or stylesheet type, and the stylesheet pulls in nothing remote.
 */

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ explorer: true });
});

afterAll(async () => {
  await t.server.stop();
});

const referencedUrls = (html: string): string[] => [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);

describe('offline explorer', () => {
  let html: string;
  let response: Response;

  beforeAll(async () => {
    response = await fetch(`${t.server.url}/`);
    html = await response.text();
  });

  it('serves a GraphiQL page at /', () => {
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html).toContain('<div id="graphiql" data-endpoint="graphql">');
  });

  it('references no external URL', () => {
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/(?:src|href)="\/\//);
    const urls = referencedUrls(html);
    expect(urls).toEqual([
      'explorer/graphiql.min.css',
      'explorer/explorer.css',
      'explorer/react.production.min.js',
      'explorer/react-dom.production.min.js',
      'explorer/graphiql.min.js',
      'explorer/explorer.js',
    ]);
  });

  it('forbids the browser from loading anything from elsewhere', () => {
    const policy = response.headers.get('content-security-policy')!;
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("connect-src 'self'");
    expect(policy).not.toMatch(/https?:/);
  });

  it('serves every asset the page references with a script or stylesheet type', async () => {
    for (const url of referencedUrls(html)) {
      const asset = await fetch(new URL(url, `${t.server.url}/`));
      const body = await asset.text();
      expect({ url, status: asset.status }).toEqual({ url, status: 200 });
      expect(asset.headers.get('content-type')).toBe(url.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8');
      expect(asset.headers.get('x-content-type-options')).toBe('nosniff');
      expect(body.length).toBeGreaterThan(url.startsWith('explorer/explorer.') ? 50 : 5000);
    }
  });

  it('serves the real UMD builds: React, ReactDOM and GraphiQL as browser globals', async () => {
    const text = async (name: string) => (await fetch(`${t.server.url}/explorer/${name}`)).text();
    expect(await text('react.production.min.js')).toMatch(/\.React\s*=|\.React={}/);
    expect(await text('react-dom.production.min.js')).toContain('ReactDOM');
    expect(await text('graphiql.min.js')).toContain('.GraphiQL=');
    const boot = await text('explorer.js');
    expect(boot).toContain('GraphiQL.createFetcher');
    expect(boot).not.toMatch(/https?:\/\//);
  });

  it('loads no fonts or images from elsewhere in the stylesheet', async () => {
    const css = await (await fetch(`${t.server.url}/explorer/graphiql.min.css`)).text();
    const urls = [...css.matchAll(/url\(\s*['"]?([^'")]+)/g)].map((match) => match[1]!);
    expect(urls.length).toBeGreaterThan(0);
    expect(urls.filter((url) => !url.startsWith('data:'))).toEqual([]);
    expect(css).not.toMatch(/@import/);
  });

  it('lets browsers revalidate cached assets', async () => {
    const first = await fetch(`${t.server.url}/explorer/graphiql.min.js`);
    await first.arrayBuffer();
    const etag = first.headers.get('etag')!;
    const again = await fetch(`${t.server.url}/explorer/graphiql.min.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('answers 404 for anything else under /explorer/', async () => {
    expect((await fetch(`${t.server.url}/explorer/../package.json`)).status).toBe(404);
    expect((await fetch(`${t.server.url}/explorer/graphiql.js`)).status).toBe(404);
  });
});
