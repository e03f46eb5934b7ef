import type { Command } from 'commander';
import { request } from '../client.js';
import { CliError, EXIT } from '../errors.js';
import { connectionFrom, filterFrom, parseCount, withConnectionFlags, withFilterFlags, type ConnectionFlags } from '../flags.js';
import { GetJobDocument, ListJobsDocument } from '../gql/graphql.js';
import { fields, paint, printJson, runCommand, seconds, table, tone } from '../output.js';

const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));

/** `list` (jobExecutions through the filter) and `get <jobId>` (one job, its attempts, diagnosis and logs). */
export function registerJobs(program: Command): void {
  withConnectionFlags(
    withFilterFlags(program.command('list').description('jobs, newest first')).option('--limit <n>', 'at most this many (the server allows 500)', parseCount, 20),
  ).action((options: ConnectionFlags & { limit: number } & Record<string, unknown>) =>
    runCommand(options.json, async () => {
      const { jobExecutions } = await request(connectionFrom(options), ListJobsDocument, { filter: filterFrom(options), first: options.limit });
      if (options.json) return printJson(jobExecutions);
      if (jobExecutions.nodes.length === 0) return console.log('No jobs match.');
      console.log(
        table(
          ['JOB ID', 'TYPE', 'STATUS', 'RETRIES', 'CREATED', 'DURATION', 'ERROR'],
          jobExecutions.nodes.map((j) => [j.jobId, j.jobType, tone(j.status), j.retryCount, j.createdAt, seconds(j.durationSeconds), j.error]),
        ),
      );
      console.log(`\n${jobExecutions.nodes.length} of ${jobExecutions.totalCount} shown`);
    }),
  );

  withConnectionFlags(program.command('get').description('one job: its fields, attempts, diagnosis and logs').argument('<jobId>')).action(
    (jobId: string, options: ConnectionFlags) =>
      runCommand(options.json, async () => {
        const { jobExecution: job } = await request(connectionFrom(options), GetJobDocument, { jobId });
        if (!job) throw new CliError(EXIT.notFound, `no job ${jobId}`, 'JOB_NOT_FOUND');
        if (options.json) return printJson(job);
        console.log(
          fields([
            ['Job', job.jobId],
            ['Type', job.jobType],
            ['Status', tone(job.status)],
            ['Retries', `${job.retryCount} of ${job.maxRetries}`],
            ['Created', job.createdAt],
            ['Started', job.startedAt],
            ['Completed', job.completedAt],
            ['Queue wait', seconds(job.queueWaitSeconds)],
            ['Duration', seconds(job.durationSeconds)],
            ['Message', job.messageId],
            ['Payload', json(job.payload)],
            ['Metadata', json(job.metadata)],
            ['Result', json(job.result)],
            ['Error', job.error],
          ]),
        );
        console.log(`\n${paint('bold', 'Attempts')}`);
        console.log(
          job.attempts.length === 0
            ? '  none yet'
            : table(['  #', 'STARTED', 'HTTP', 'DURATION', 'ERROR'], job.attempts.map((a) => [`  ${a.attempt}`, a.startedAt, a.httpStatus, seconds(a.durationSeconds), a.error])),
        );
        console.log(`\n${paint('bold', 'Diagnosis')}: ${tone(job.diagnosis.verdict)}  ${job.diagnosis.summary}`);
        if (job.diagnosis.remedy) console.log(`  remedy: ${job.diagnosis.remedy}`);
        console.log(`\n${paint('bold', 'Logs')}`);
        console.log(job.logs.length === 0 ? '  none kept' : table(['  AT', 'LEVEL', 'ATTEMPT', 'MESSAGE'], job.logs.map((l) => [`  ${l.at}`, l.level, l.attempt, l.message])));
      }),
  );
}
