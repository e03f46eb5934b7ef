// Bundles the package's entry points (jobscope, jobscope/fetch, jobscope/node and the CLI) into
// dist/ with esbuild, shared code split into dist/chunks/. One file per entry loads far faster
// than the ~1,400 modules of the dependency tree (counted with a load hook and require's cache):
// the CLI's whole import took 0.45 s bundled against 1.08 s unbundled here (node --version of
// the command, which then loaded everything).
// tsc still writes the declaration files (tsconfig.build.json, emitDeclarationOnly).
import { copyFileSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

/**
 * Every import of graphql, deep ones included (`graphql/jsutils/Path.js` from graphql-jit), goes to
 * its ESM files: a deep path would otherwise load the CommonJS copy beside the ESM one, and two
 * copies of graphql refuse each other's types ("Cannot use GraphQLNonNull from another module").
 */
const oneGraphql = {
  name: 'one-graphql',
  setup(build) {
    const root = fileURLToPath(new URL('../node_modules/graphql/', import.meta.url));
    build.onResolve({ filter: /^graphql(\/.*)?$/ }, (args) => {
      const sub = args.path.slice('graphql'.length).replace(/^\//, '').replace(/\.js$/, '');
      return { path: join(root, `${sub || 'index'}.mjs`) };
    });
  },
};

await build({
  entryPoints: ['src/index.ts', 'src/adapters/fetch.ts', 'src/adapters/node.ts', 'src/cli/index.ts'],
  outbase: 'src',
  outdir: 'dist',
  entryNames: '[dir]/[name]',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  // ESM builds first (esbuild's node default is main, then module): graphql's CommonJS build was
  // reached through a getter per property access, ~5 % of a list request's CPU in graphql's own
  // executor.
  mainFields: ['module', 'main'],
  plugins: [oneGraphql],
  target: 'node20',
  sourcemap: true,
  // The maps name the sources (src/ ships with the package) without carrying them.
  sourcesContent: false,
  legalComments: 'linked',
  logLevel: 'warning',
  external: [
    // The app's own copy: a team's schemas are checked and published with it.
    ...Object.keys(pkg.peerDependencies ?? {}),
    // Loads its wasm and data files from next to its own module.
    '@electric-sql/pglite',
    // Loaded only for a TypeScript config file.
    'jiti',
    // GraphiQL's 9 MB of inlined assets, imported on the first page view from its own package.
    '@graphql-yoga/render-graphiql',
    // ws's optional native helpers.
    'bufferutil',
    'utf-8-validate',
  ],
  // CommonJS dependencies call require(); ESM has none of its own.
  banner: { js: "import { createRequire as __jobscopeRequire } from 'node:module'; const require = __jobscopeRequire(import.meta.url);" },
});

// The dashboard (src/dashboard, served at `/`): Preact and uPlot in one minified ES module with
// its stylesheet beside it, no CDN. Its size is printed so the README's figure can be checked.
await build({
  entryPoints: { app: 'src/dashboard/main.tsx' },
  outdir: 'dist/dashboard',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome111', 'firefox111', 'safari16.4'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync('src/dashboard/index.html', 'dist/dashboard/index.html');
const dashboardBytes = readdirSync('dist/dashboard').reduce((sum, name) => sum + statSync(join('dist/dashboard', name)).size, 0);
const gzipped = readdirSync('dist/dashboard').reduce((sum, name) => sum + gzipSync(readFileSync(join('dist/dashboard', name))).length, 0);
console.log(`dashboard: dist/dashboard ${(dashboardBytes / 1024).toFixed(1)} KiB (${(gzipped / 1024).toFixed(1)} KiB gzipped)`);
