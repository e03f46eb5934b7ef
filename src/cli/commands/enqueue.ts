import { Option, type Command } from 'commander';
import { request } from '../client.js';
import { connectionFrom, parseCount, parseJsonArgument, withConnectionFlags, type ConnectionFlags } from '../flags.js';
import { EnqueueDocument } from '../gql/graphql.js';
import { printJson, runCommand, tone } from '../output.js';

/** `enqueue <type> --payload '{…}' | @file.json`: enqueueJob. */
export function registerEnqueue(program: Command): void {
  withConnectionFlags(
    program
      .command('enqueue')
      .description('enqueue a job')
      .argument('<type>', 'the job type')
      .addOption(new Option('--payload <json>', "the payload: JSON, or @file.json to read a file").argParser(parseJsonArgument).makeOptionMandatory())
      .addOption(new Option('--metadata <json>', 'metadata stored with the job (userId, organizationId are indexed); JSON or @file.json').argParser(parseJsonArgument))
      .option('--delay <seconds>', 'deliver after this many seconds', parseCount),
  ).action((jobType: string, options: ConnectionFlags & { payload: unknown; metadata?: unknown; delay?: number }) =>
    runCommand(options.json, async () => {
      const input = {
        jobType,
        payload: options.payload,
        ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
        ...(options.delay !== undefined ? { delaySeconds: options.delay } : {}),
      };
      const { enqueueJob } = await request(connectionFrom(options), EnqueueDocument, { input });
      if (options.json) printJson(enqueueJob);
      else console.log(`${enqueueJob.jobId}  ${enqueueJob.jobType}  ${tone(enqueueJob.status)}`);
    }),
  );
}
