// Files the bundle needs beside it at run time: [path under node_modules, file name in dist/].
// Each is found relative to the bundle's import.meta.url by the module that loads it.
export const assets = [
  // Cedar policy engine (gateway/src/policy/cedar-runtime.ts reads it beside the bundle).
  ['@cedar-policy/cedar-wasm/web/cedar_wasm_bg.wasm', 'cedar_wasm_bg.wasm'],
  // Embedded PostgreSQL (PGlite resolves these with new URL('./…', import.meta.url)).
  ['@electric-sql/pglite/dist/pglite.wasm', 'pglite.wasm'],
  ['@electric-sql/pglite/dist/pglite.data', 'pglite.data'],
  ['@electric-sql/pglite/dist/initdb.wasm', 'initdb.wasm'],
  // PostgreSQL's parser for SQL classification (gateway/src/protocols/postgres/sql/parser.ts reads it beside the bundle).
  ['libpg-query/wasm/libpg-query.wasm', 'libpg-query.wasm'],
  // The console's terminal player (gateway/src/admin/console/session-page/assets.ts serves them).
  ['asciinema-player/dist/bundle/asciinema-player.min.js', 'console-asciinema-player.min.js'],
  ['asciinema-player/dist/bundle/asciinema-player.css', 'console-asciinema-player.css'],
];

// Programs shipped beside the bundle: [path in this repository, name in dist/], copied executable.
// gatehouse-token: the POSIX-shell fast path of `gatehouse token` (docs/clients.md); a second `bin`.
export const programs = [['gateway/bin/gatehouse-token', 'gatehouse-token']];
