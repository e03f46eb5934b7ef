import { z } from 'zod';
import { defineConfig, defineJob } from 'jobscope';
export default defineConfig({
  jobs: [defineJob({ type: 'x', endpoint: '/api/jobs/x', schema: z.object({}), timeoutSeconds: 1, retries: 0, handler: async () => ({}) })],
  port: 0, log: { dir: false }, database: { pgliteDir: '/tmp/cfg1-pg' },
});
