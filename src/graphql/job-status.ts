import { builder } from './builder.js';

/** The job lifecycle states; the database holds them in lowercase. */
export const JobStatusEnum = builder.enumType('JobStatus', {
  description: 'Where a job is in its lifecycle. COMPLETED, FAILED and CANCELLED are final.',
  values: {
    PENDING: { value: 'pending', description: 'Enqueued; no attempt has started yet.' },
    PROCESSING: { value: 'processing', description: 'An attempt is running.' },
    RETRYING: { value: 'retrying', description: 'An attempt failed; QStash will deliver it again.' },
    COMPLETED: { value: 'completed', description: 'An attempt succeeded.' },
    FAILED: { value: 'failed', description: 'The last allowed attempt failed, or the failure was not retryable.' },
    CANCELLED: { value: 'cancelled', description: 'Cancelled before it completed.' },
  } as const,
});
