#!/usr/bin/env node
// `npm run bench -- <name>`: runs one benchmark (or all) and writes bench/results/<name>.json.
const benches = {
  aws: () => import('./aws.mjs'),
  console: () => import('./console.mjs'),
  git: () => import('./git.mjs'),
  http: () => import('./http.mjs'),
  masking: () => import('./masking.mjs'),
  postgres: () => import('./postgres.mjs'),
  ssh: () => import('./ssh.mjs'),
  token: () => import('./token.mjs'),
};
const which = process.argv[2];
if (!which || !(which in benches) && which !== 'all') {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}|all>`);
  process.exit(2);
}
for (const name of which === 'all' ? Object.keys(benches) : [which]) {
  const mod = await benches[name]();
  await mod.main(process.argv.slice(3));
}
