import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { createApp } from '../src/app.js';
import { serveNode } from '../src/adapters/node-server.js';
import { loadConfig } from '../src/config/index.js';
import type { DatabaseHandle } from '../src/db/client.js';
import { jobAttempts, jobExecutions } from '../src/db/schema.js';
import { silentLogger } from '../src/logger.js';
import { measure, report } from './harness.js';

/**
 * Enqueue → delivered → completed through the real server, Client and stand-in, against the
 * least the database must do for one run (insert the row, open the attempt, record the outcome).
 */
export async function benchPipeline(database: DatabaseHandle, label: string, iterations: number): Promise<void> {
  const logger = silentLogger();
  const app = await createApp({
    config: loadConfig({ NODE_ENV: 'test', LOG_DIR: 'off', QSTASH_RETRY_DELAY_FACTOR: '0.0001' }),
    logger,
    database,
  });
  const server = await serveNode(app, { port: 0, host: '127.0.0.1' });
  const waiting = new Map<string, () => void>();
  app.jobs.events.subscribe((e) => {
    if (e.type === 'completed') waiting.get(e.jobId)?.();
  });
  const db = database.db;
  try {
    const rawRun = async () => {
      const jobId = randomUUID();
      await db.insert(jobExecutions).values({ jobId, jobType: 'send-email', payload: { jobId, type: 'send-email', payload: {}, metadata: {} } });
      await db.transaction(async (tx) => {
        await tx.insert(jobAttempts).values({ jobId, attempt: 0, messageId: `msg_${jobId}` });
        await tx.update(jobExecutions).set({ status: 'processing', startedAt: new Date() }).where(eq(jobExecutions.jobId, jobId));
      });
      await db.transaction(async (tx) => {
        await tx.update(jobAttempts).set({ finishedAt: new Date(), httpStatus: 200 }).where(eq(jobAttempts.jobId, jobId));
        await tx.update(jobExecutions).set({ status: 'completed', completedAt: new Date() }).where(eq(jobExecutions.jobId, jobId));
      });
    };
    const pipelineRun = async (i: number) => {
      let jobId = '';
      const done = new Promise<void>((resolve) => {
        const job = app.jobs.enqueue('send-email', { to: 'bench@example.com', subject: `bench ${i}`, text: 'x' });
        void job.then((row) => {
          jobId = row.jobId;
          waiting.set(jobId, resolve);
          // The completion may have been heard before enqueue returned.
          void db.select({ status: jobExecutions.status }).from(jobExecutions).where(eq(jobExecutions.jobId, jobId)).then(([r]) => {
            if (r?.status === 'completed') resolve();
          });
        });
      });
      await done;
      waiting.delete(jobId);
    };
    const baseline = await measure('raw SQL: insert + attempt + outcome', iterations, rawRun);
    const pipeline = await measure('enqueue → QStash stand-in → worker → completed', iterations, pipelineRun);
    report(`Delivery latency on ${label} (one job at a time)`, baseline, [pipeline]);

    const burst = Number(process.env.BENCH_BURST ?? 1000);
    const rounds = Number(process.env.BENCH_BURST_ROUNDS ?? 3);
    const rawBurst = await measure(`raw SQL: ${burst} runs at once`, rounds, () => Promise.all(Array.from({ length: burst }, rawRun)), 1);
    const pipelineBurst = await measure(`${burst} jobs enqueued at once, until all completed`, rounds, (r) =>
      Promise.all(Array.from({ length: burst }, (_, i) => pipelineRun(r * burst + i))), 1);
    report(`Burst of ${burst} jobs on ${label} (time for the whole burst)`, rawBurst, [pipelineBurst]);
    const median = (m: { samples: number[] }) => [...m.samples].sort((a, b) => a - b)[Math.floor(m.samples.length / 2)]!;
    console.log(`burst of ${burst} through the stand-in on ${label}: ${(median(pipelineBurst) / 1000).toFixed(2)} s, ${Math.round(burst / (median(pipelineBurst) / 1000))} jobs/s (raw SQL: ${Math.round(burst / (median(rawBurst) / 1000))} runs/s)`);
  } finally {
    await server.close();
  }
}
