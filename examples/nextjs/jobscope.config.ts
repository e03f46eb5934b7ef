import { defineConfig, defineJob } from 'jobscope';
import { z } from 'zod';

/** The team's job: index a document for search. */
export const indexDocument = defineJob({
  type: 'index-document',
  endpoint: '/api/jobs/index-document',
  description: 'Adds a document to the search index.',
  schema: z.object({ documentId: z.string().min(1), title: z.string() }),
  timeoutSeconds: 30,
  retries: 3,
  async handler(payload, _job, { logger }) {
    logger.info('[search] indexed', { documentId: payload.documentId });
    return { indexed: payload.documentId, words: payload.title.split(/\s+/).length };
  },
});

export default defineConfig({
  jobs: [indexDocument],
  // The route lives at app/jobscope/[...path]: every jobscope path starts with /jobscope.
  basePath: '/jobscope',
});
