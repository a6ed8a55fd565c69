import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/*
 * An offline GraphQL explorer: GraphiQL 3 and React 18 served from their installed packages'
 * prebuilt browser bundles (UMD), so the page loads nothing from the internet. Apollo's own
 * landing page is not used because it pulls its code from a CDN. GraphiQL 4 and later ship only
 * ES modules that need a bundler, hence version 3.
 */

export interface ExplorerAsset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

/** Route (under `/explorer/`) → package file. */
const PACKAGE_FILES: readonly { readonly name: string; readonly pkg: string; readonly file: string; readonly contentType: string }[] = [
  { name: 'react.production.min.js', pkg: 'react', file: 'umd/react.production.min.js', contentType: JS },
  { name: 'react-dom.production.min.js', pkg: 'react-dom', file: 'umd/react-dom.production.min.js', contentType: JS },
  { name: 'graphiql.min.js', pkg: 'graphiql', file: 'graphiql.min.js', contentType: JS },
  { name: 'graphiql.min.css', pkg: 'graphiql', file: 'graphiql.min.css', contentType: CSS },
];

// The packages' `exports` hide their UMD files from require.resolve, but not package.json.
const packageFile = (pkg: string, file: string): string => join(dirname(require.resolve(`${pkg}/package.json`)), file);

const DEFAULT_QUERY = `# Mentoring lifecycle API explorer.
#
# Without a token you may only query \`health\`.
# To do more, mint a token:
#   npm run token -- --role admin --subject <you>
# paste it into the Headers tab below as
#   { "Authorization": "Bearer <token>" }
# and reload the schema (circular arrows, left)
# so Docs and autocompletion show your API.

query Health {
  health {
    status
    eventStore
  }
}
`;

// Kept out of the HTML so the page's Content-Security-Policy can forbid inline scripts.
const BOOT_SCRIPT = `(function () {
  'use strict';
  var root = document.getElementById('graphiql');
  var endpoint = new URL(root.getAttribute('data-endpoint'), window.location.href).toString();
  var fetcher = GraphiQL.createFetcher({ url: endpoint, enableIncrementalDelivery: false });
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: ${JSON.stringify(DEFAULT_QUERY)},
      defaultEditorToolsVisibility: 'headers',
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false
    })
  );
})();
`;

const PAGE_STYLE = `html, body { height: 100%; margin: 0; }
#graphiql { height: 100vh; }
`;

/**
 * The explorer's HTML. Every URL in it is relative, so the page works behind a path prefix, and
 * same-origin, so it works without internet access.
 */
export const explorerPage = (graphqlPath: string): string => `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Mentoring lifecycle API explorer</title>
    <link rel="stylesheet" href="explorer/graphiql.min.css" />
    <link rel="stylesheet" href="explorer/explorer.css" />
  </head>
  <body>
    <div id="graphiql" data-endpoint="${graphqlPath.replace(/^\//, '')}">Loading the explorer…</div>
    <noscript>The explorer needs JavaScript.</noscript>
    <script src="explorer/react.production.min.js"></script>
    <script src="explorer/react-dom.production.min.js"></script>
    <script src="explorer/graphiql.min.js"></script>
    <script src="explorer/explorer.js"></script>
  </body>
</html>
`;

/** Everything the page needs comes from this server; `data:` covers GraphiQL's inlined fonts and icons. */
export const EXPLORER_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const asset = (body: Buffer, contentType: string): ExplorerAsset => ({
  body,
  contentType,
  etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
});

/** The page itself, revalidated on every load (its assets are cached for an hour). */
export const explorerPageAsset = (graphqlPath: string): ExplorerAsset =>
  asset(Buffer.from(explorerPage(graphqlPath), 'utf8'), 'text/html; charset=utf-8');

/**
 * Reads every asset once, at startup, so a missing package fails the start rather than the page.
 * Keys are file names under `/explorer/`.
 */
export const loadExplorerAssets = (): ReadonlyMap<string, ExplorerAsset> =>
  new Map([
    ...PACKAGE_FILES.map(({ name, pkg, file, contentType }) => [name, asset(readFileSync(packageFile(pkg, file)), contentType)] as const),
    ['explorer.js', asset(Buffer.from(BOOT_SCRIPT, 'utf8'), JS)] as const,
    ['explorer.css', asset(Buffer.from(PAGE_STYLE, 'utf8'), CSS)] as const,
  ]);
