import { builder } from './builder.js';

/** Where a publish request stands; the database holds the states in lowercase. */
export const PublishStateEnum = builder.enumType('PublishState', {
  description: "Where a job's publish to QStash stands.",
  values: {
    QUEUED: { value: 'queued', description: 'Committed; the relay has not had QStash accept it yet (it may be retrying).' },
    PUBLISHED: { value: 'published', description: 'QStash accepted the message.' },
    FAILED: { value: 'failed', description: 'Given up: QStash refused it (a 4xx), the publish deadline passed, or the job was cancelled first.' },
  } as const,
});

/** A job's publish request in the outbox (job_publishes). */
export const JobPublishRef = builder.drizzleObject('jobPublishes', {
  name: 'JobPublishState',
  description: "How publishing a job to QStash went: the outbox relay's record of it.",
  select: {
    columns: { state: true, generation: true, attempts: true, lastError: true, nextAttemptAt: true, deadlineAt: true, publishedAt: true },
  },
  fields: (t) => ({
    state: t.field({ type: PublishStateEnum, resolve: (p) => p.state }),
    attempts: t.int({ resolve: (p) => p.attempts, description: 'Publish attempts started (since the latest manual retry).' }),
    lastError: t.string({ resolve: (p) => p.lastError, nullable: true, description: 'Error of the latest failed attempt.' }),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'While QUEUED: when the relay tries next.',
      resolve: (p) => (p.state === 'queued' ? p.nextAttemptAt : null),
    }),
    deadlineAt: t.field({ type: 'DateTime', resolve: (p) => p.deadlineAt, description: 'Past this, a transient failure fails the job.' }),
    publishedAt: t.field({ type: 'DateTime', resolve: (p) => p.publishedAt, nullable: true, description: 'When QStash accepted it.' }),
    manualRetries: t.int({ resolve: (p) => p.generation, description: 'Manual retries that published the job again (0: its first publish).' }),
  }),
});
