// PGlite publishes its contrib extensions under the `./contrib/*` export, which this project's
// `moduleResolution: node` does not read; Node and jest resolve it at run time all the same.
declare module '@electric-sql/pglite/contrib/pg_trgm' {
  import type { Extension } from '@electric-sql/pglite';
  export const pg_trgm: Extension;
}
