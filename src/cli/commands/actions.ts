import { createInterface } from 'node:readline/promises';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { request, subscribe, type Connection } from '../client.js';
import { CliError, EXIT, type ExitCode } from '../errors.js';
import { connectionFrom, filterFrom, withConnectionFlags, withFilterFlags, type ConnectionFlags } from '../flags.js';
import {
  BulkProgressDocument,
  CancelManyDocument,
  CancelOneDocument,
  RetryManyDocument,
  RetryOneDocument,
  type BulkViewFragment,
  type JobFilter,
  type RetryManyMutation,
} from '../gql/graphql.js';
import { printJson, runCommand, table, tone } from '../output.js';

type Preview = RetryManyMutation['retryJobs'];

/** What differs between `retry` and `cancel`: the documents, and the words. */
interface Verb {
  name: 'retry' | 'cancel';
  one: (connection: Connection, jobId: string) => Promise<{ jobId: string; status: string }>;
  many: (connection: Connection, filter: JobFilter, dryRun: boolean) => Promise<Preview>;
  which: string;
}

const VERBS: Verb[] = [
  {
    name: 'retry',
    one: async (c, jobId) => (await request(c, RetryOneDocument, { jobId })).retryJob,
    many: async (c, filter, dryRun) => (await request(c, RetryManyDocument, { filter, dryRun })).retryJobs,
    which: 'failed, cancelled or stuck',
  },
  {
    name: 'cancel',
    one: async (c, jobId) => (await request(c, CancelOneDocument, { jobId })).cancelJob,
    many: async (c, filter, dryRun) => (await request(c, CancelManyDocument, { filter, dryRun })).cancelJobs,
    which: 'pending or retrying',
  },
];

type Options = ConnectionFlags & { dryRun?: boolean; yes?: boolean } & Record<string, unknown>;

/** `retry` and `cancel`: one job by id, or every job the filter flags name as a bulk operation. */
export function registerActions(program: Command): void {
  for (const verb of VERBS) {
    withConnectionFlags(
      withFilterFlags(
        program
          .command(verb.name)
          .description(`${verb.name} one job, or (with filter flags) every ${verb.which} job they name, as a bulk operation`)
          .argument('[jobId]'),
      )
        .option('--dry-run', 'only count the jobs and show a sample')
        .option('-y, --yes', 'do not ask before a bulk run'),
    ).action((jobId: string | undefined, options: Options, command: Command) =>
      runCommand(options.json, async () => {
        const filter = filterFrom(options);
        const filtered = Object.keys(filter).length > 0;
        if (jobId !== undefined && filtered) command.error(`${verb.name} takes a job id or filter flags, not both`, { exitCode: EXIT.usage });
        if (jobId === undefined && !filtered) command.error(`${verb.name} needs a job id or filter flags (e.g. --status failed --since 1h)`, { exitCode: EXIT.usage });
        const connection = connectionFrom(options);
        if (jobId !== undefined) {
          const job = await verb.one(connection, jobId);
          if (options.json) printJson(job);
          else console.log(`${job.jobId}  ${tone(job.status)}`);
          return;
        }
        return bulk(verb, connection, filter, options, command);
      }),
    );
  }
}

async function bulk(verb: Verb, connection: Connection, filter: JobFilter, options: Options, command: Command): Promise<ExitCode> {
  const preview = await verb.many(connection, filter, true);
  if (!options.json || options.dryRun || preview.matched === 0) showPreview(verb, preview, options.json);
  if (options.dryRun || preview.matched === 0) return EXIT.ok;
  if (!options.yes) {
    if (!process.stdin.isTTY) command.error(`not asking without a terminal: pass --yes to ${verb.name} ${preview.matched} jobs`, { exitCode: EXIT.usage });
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await prompt.question(`${verb.name} ${preview.matched} jobs? [y/N] `);
    prompt.close();
    if (!/^y(es)?$/i.test(answer.trim())) {
      process.stderr.write('Nothing done.\n');
      return EXIT.ok;
    }
  }
  const started = await verb.many(connection, filter, false);
  const final = await follow(connection, started, options.json === true);
  if (options.json) printJson(final);
  else {
    console.log(`Bulk ${verb.name} ${final.id}: ${tone(final.status.toUpperCase())}, ${final.succeeded} succeeded, ${final.failed} failed of ${final.matched}`);
    if (final.errors.length > 0) console.log(table(['JOB ID', 'CODE', 'MESSAGE'], final.errors.map((e) => [e.jobId, e.code, e.message])));
  }
  return final.status === 'COMPLETED' && final.failed === 0 ? EXIT.ok : EXIT.failed;
}

function showPreview(verb: Verb, preview: Preview, json: boolean | undefined): void {
  if (json) return printJson(preview);
  console.log(`${preview.matched} ${verb.which} jobs match${preview.sample.length < preview.matched ? `; the first ${preview.sample.length}:` : ':'}`);
  if (preview.sample.length > 0) console.log(table(['JOB ID', 'TYPE', 'STATUS', 'ERROR'], preview.sample.map((j) => [j.jobId, j.jobType, tone(j.status), j.error])));
}

/**
 * Follows the operation through bulkOperationProgress until it ends, with a progress bar on
 * stderr (so stdout stays the result). Off a terminal the bar prints a line per update instead of
 * redrawing, so a log or a test sees it reach the end.
 */
async function follow(connection: Connection, operation: BulkViewFragment, quiet: boolean): Promise<BulkViewFragment> {
  if (!operation.id) throw new CliError(EXIT.server, 'the server started no bulk operation');
  const bar = new SingleBar({
    stream: process.stderr,
    format: ' {bar} {percentage}% | {value}/{total} jobs | {status}',
    noTTYOutput: !quiet,
    notTTYSchedule: 200,
    hideCursor: true,
  });
  if (!quiet) bar.start(operation.matched, operation.processed, { status: operation.status });
  let last = operation;
  try {
    await subscribe(connection, BulkProgressDocument, { id: operation.id }, (data) => {
      last = data.bulkOperationProgress;
      if (!quiet) bar.update(last.processed, { status: last.status });
    });
  } finally {
    if (!quiet) bar.stop();
  }
  return last;
}
