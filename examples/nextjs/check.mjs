// `npm run check` (after `next build`): `next start` serves the built app, jobscope mounted at
// app/jobscope/[...path]/route.ts; the shared contract checks it.
import { checkExample } from '../check/contract.mjs';

await checkExample({
  name: 'nextjs',
  start: (port) => ({
    command: 'npx',
    args: ['next', 'start', '--port', String(port), '--hostname', '127.0.0.1'],
    // The local QStash stand-in, although `next start` runs in production mode (see lib/jobscope.ts).
    env: { JOBSCOPE_ENV: 'development' },
  }),
  basePath: '/jobscope',
  jobTypes: ['index-document'],
  enqueue: { jobType: 'index-document', payload: { documentId: 'doc-1', title: 'How we run jobs' } },
  appRoutes: [
    { path: '/', includes: 'my app' },
    { path: '/nothing-here', status: 404 },
  ],
});
