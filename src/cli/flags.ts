import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Connection } from './client.js';
import type { JobFilter, JobStatus } from './gql/graphql.js';

/** The server's own default address (PORT 4000, `/graphql`). */
export const DEFAULT_URL = 'http://localhost:4000/graphql';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** `30m`, `1h`, `7d` (also `s` and `w`) in milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError(`expected a duration like 30m, 1h or 7d, got "${text}"`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/** A duration back from now (`1h`: an hour ago) or an ISO 8601 instant, as an ISO string. */
export function parseInstant(text: string): string {
  if (/^\d+(?:\.\d+)?[smhdw]$/.test(text.trim())) return new Date(Date.now() - parseDuration(text)).toISOString();
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new InvalidArgumentError(`expected a duration like 1h or an ISO 8601 time, got "${text}"`);
  return new Date(at).toISOString();
}

export function parseCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number, got "${text}"`);
  return n;
}

function parseSeconds(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected seconds, got "${text}"`);
  return n;
}

/** A JSON text, or `@file.json` for a file's. */
export function parseJsonArgument(text: string): unknown {
  let source = text;
  if (text.startsWith('@')) {
    try {
      source = readFileSync(text.slice(1), 'utf8');
    } catch (error) {
      throw new InvalidArgumentError(`cannot read ${text.slice(1)}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
  try {
    return JSON.parse(source) as unknown;
  } catch (error) {
    throw new InvalidArgumentError(`not JSON: ${(error as Error).message}`);
  }
}

const STATUSES: readonly JobStatus[] = ['PENDING', 'PROCESSING', 'RETRYING', 'COMPLETED', 'FAILED', 'CANCELLED'];

/** Repeatable and comma-separated: `--status failed,cancelled` or `--status failed --status cancelled`. */
const list =
  <T>(each: (item: string) => T) =>
  (text: string, previous: T[] | undefined): T[] => [...(previous ?? []), ...text.split(',').filter(Boolean).map(each)];

function parseStatus(text: string): JobStatus {
  const status = text.trim().toUpperCase() as JobStatus;
  if (!STATUSES.includes(status)) throw new InvalidArgumentError(`expected one of ${STATUSES.join(', ').toLowerCase()}, got "${text}"`);
  return status;
}

/** One flag per JobFilter field: the flag, its help, how its text becomes the field's value. */
const FILTER_FLAGS: { field: keyof JobFilter; flags: string; help: string; parse: (text: string, previous: never) => unknown }[] = [
  { field: 'status', flags: '--status <statuses>', help: 'any of these statuses (comma-separated, repeatable)', parse: list(parseStatus) },
  { field: 'jobType', flags: '--type <types>', help: 'any of these job types (comma-separated, repeatable)', parse: list((t) => t) },
  { field: 'jobId', flags: '--job-id <ids>', help: 'any of these job ids (comma-separated, repeatable)', parse: list((t) => t) },
  { field: 'createdAfter', flags: '--since <when>', help: 'created at or after: a duration back (30m, 1h, 7d) or an ISO time', parse: parseInstant },
  { field: 'createdBefore', flags: '--until <when>', help: 'created before: a duration back or an ISO time', parse: parseInstant },
  { field: 'completedAfter', flags: '--completed-after <when>', help: 'finished at or after', parse: parseInstant },
  { field: 'completedBefore', flags: '--completed-before <when>', help: 'finished before', parse: parseInstant },
  { field: 'errorContains', flags: '--error-contains <text>', help: "the last error contains this (case-insensitive)", parse: (t) => t },
  { field: 'userId', flags: '--user <id>', help: 'metadata.userId equals this', parse: (t) => t },
  { field: 'organizationId', flags: '--organization <id>', help: 'metadata.organizationId equals this', parse: (t) => t },
  { field: 'scheduleId', flags: '--schedule <id>', help: 'created by a run of this QStash schedule', parse: (t) => t },
  { field: 'payloadContains', flags: '--payload-contains <json>', help: 'the payload contains this JSON (@file.json reads a file)', parse: parseJsonArgument },
  { field: 'retryCountAtLeast', flags: '--retries-at-least <n>', help: 'retried at least n times', parse: parseCount },
  { field: 'durationAtLeastSeconds', flags: '--duration-at-least <seconds>', help: 'ran at least this many seconds', parse: parseSeconds },
];

const optionKey = (flags: string) => new Option(flags).attributeName();

/** Adds the JobFilter flags to a command; `defaults` (e.g. `--since 24h` for stats) are shown in its help. */
export function withFilterFlags(command: Command, defaults: Partial<Record<keyof JobFilter, string>> = {}): Command {
  for (const flag of FILTER_FLAGS) {
    const option = new Option(flag.flags, flag.help).argParser(flag.parse as (text: string, previous: unknown) => unknown);
    const preset = defaults[flag.field];
    if (preset !== undefined) option.default(flag.parse(preset, undefined as never), preset);
    command.addOption(option);
  }
  return command;
}

/** The JobFilter the command's filter flags name (only the fields given). */
export function filterFrom(options: Record<string, unknown>): JobFilter {
  const filter: Record<string, unknown> = {};
  for (const flag of FILTER_FLAGS) {
    const value = options[optionKey(flag.flags)];
    if (value !== undefined) filter[flag.field] = value;
  }
  return filter as JobFilter;
}

/** `--url`, `--api-key` and `--json`, on every command that talks to a server. */
export function withConnectionFlags(command: Command): Command {
  return command
    .addOption(new Option('--url <url>', 'the GraphQL endpoint').env('JOBSCOPE_URL').default(DEFAULT_URL))
    .addOption(new Option('--api-key <key>', 'sent as Authorization: Bearer <key>').env('JOBSCOPE_API_KEY'))
    .option('--json', 'machine-readable output: one JSON document (one per line for tail)');
}

export interface ConnectionFlags {
  url: string;
  apiKey?: string;
  json?: boolean;
}

export const connectionFrom = (options: ConnectionFlags): Connection => ({ url: options.url, apiKey: options.apiKey });
