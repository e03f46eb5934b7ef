import { z } from 'zod';
import { jobStatistics } from '../read/index.js';
import { defineJob } from '../registry.js';

export const GenerateReportJobPayloadSchema = z
  .object({
    reportType: z.literal('job-summary'),
    since: z.iso.datetime({ offset: true }).optional(),
    until: z.iso.datetime({ offset: true }).optional(),
    jobType: z.string().min(1).optional(),
  })
  // JSON Schema cannot compare two fields, so this rule is published in the schema's description
  // instead; a payload that breaks it passes `payloadSchema` and is rejected by enqueueJob.
  .refine((p) => !p.since || !p.until || Date.parse(p.since) < Date.parse(p.until), {
    message: 'since must be before until',
    path: ['since'],
  })
  .meta({
    description:
      'A job-summary report of the jobs created in [since, until), optionally of one jobType; since and until ' +
      'are optional ISO 8601 date-times with an offset. ' +
      'When both are given, since must be before until: enqueueJob rejects the payload otherwise ' +
      '(JSON Schema cannot express that rule).',
  });

export type GenerateReportJobPayload = z.infer<typeof GenerateReportJobPayloadSchema>;

/**
 * `generate-report`: a summary of the job table over a window (counts, failure rate and duration
 * percentiles per type), computed from the same statistics the API serves. Its run time grows
 * with the table, which makes it the example of a slow job.
 */
export const generateReportJob = defineJob({
  type: 'generate-report',
  endpoint: '/api/jobs/report',
  description: 'Summarises job executions over a window: counts, failure rate and durations per job type.',
  schema: GenerateReportJobPayloadSchema,
  timeoutSeconds: 180,
  retries: 2,
  async handler(payload, _job, { db, signal }) {
    const window = {
      since: payload.since ? new Date(payload.since) : undefined,
      until: payload.until ? new Date(payload.until) : undefined,
      jobType: payload.jobType,
    };
    const rows = await jobStatistics(db, window);
    signal.throwIfAborted();
    const byType = new Map<string, { total: number; failed: number; completed: number }>();
    for (const row of rows) {
      const entry = byType.get(row.jobType) ?? { total: 0, failed: 0, completed: 0 };
      entry.total += row.count;
      if (row.status === 'failed') entry.failed += row.count;
      if (row.status === 'completed') entry.completed += row.count;
      byType.set(row.jobType, entry);
    }
    const total = [...byType.values()].reduce((sum, t) => sum + t.total, 0);
    return {
      reportType: payload.reportType,
      generatedAt: new Date().toISOString(),
      window: { since: payload.since ?? null, until: payload.until ?? null, jobType: payload.jobType ?? null },
      totalJobs: total,
      jobTypes: [...byType.entries()].map(([jobType, t]) => ({
        jobType,
        ...t,
        failureRate: t.total === 0 ? 0 : t.failed / t.total,
      })),
      statistics: rows,
    };
  },
});
