import { readFileSync } from 'node:fs';
import type { GraphiQLOptions } from 'graphql-yoga';
import { packagePath } from '../paths.js';

/**
 * The example operations, one document per GraphiQL tab. The same files are codegen's
 * `documents` (codegen.ts), so every example is checked against the schema and the tests run them.
 */
export const EXAMPLE_OPERATION_FILES = ['dashboard', 'queries', 'mutations', 'subscriptions'] as const;
export type ExampleOperationFile = (typeof EXAMPLE_OPERATION_FILES)[number];

export function readExampleOperations(file: ExampleOperationFile): string {
  return readFileSync(packagePath('src', 'graphql', 'operations', `${file}.graphql`), 'utf8');
}

const exampleVariables: Partial<Record<ExampleOperationFile, unknown>> = {
  queries: { jobId: '<a jobId from the Dashboard tab>', filter: { status: ['FAILED'] }, first: 20, since: '2026-01-01T00:00:00Z', id: 'rule_default_failure-rate' },
  mutations: {
    input: { jobType: 'send-email', payload: { to: 'ada@example.com', subject: 'Hello', text: 'Sent from GraphiQL' } },
    jobId: '<a failed jobId from the Dashboard tab>',
    jobType: 'send-email',
    rule: {
      name: 'send-email failing',
      metric: 'FAILURE_RATE',
      scope: { jobType: ['send-email'] },
      windowMinutes: 15,
      threshold: 0.1,
      channels: { log: true, webhooks: [{ url: 'https://hooks.slack.com/services/<your hook>', format: 'SLACK' }] },
    },
    id: '<an id from AlertRules>',
    changes: { threshold: 0.2 },
    until: '<when the mute ends, e.g. 2026-12-31T09:00:00Z>',
    eventId: '<an id from AlertEvents>',
  },
  subscriptions: { statuses: ['COMPLETED', 'FAILED'] },
};

/**
 * GraphiQL at GET /graphql in a browser: the dashboard query first, then a tab with every
 * query, one with the mutations and one with the subscription. Subscriptions run over SSE, the
 * transport that carries the Headers tab's `Authorization` exactly like queries do.
 */
export function graphiqlOptions(options: { apiKeysRequired: boolean }): GraphiQLOptions {
  const headers = options.apiKeysRequired ? JSON.stringify({ Authorization: 'Bearer <your API key>' }, null, 2) : '{}';
  const dashboard = readExampleOperations('dashboard');
  return {
    title: 'jobscope GraphiQL',
    defaultQuery: dashboard,
    defaultHeaders: headers,
    defaultTabs: EXAMPLE_OPERATION_FILES.map((file) => ({
      query: readExampleOperations(file),
      headers,
      variables: exampleVariables[file] === undefined ? null : JSON.stringify(exampleVariables[file], null, 2),
    })),
    subscriptionsProtocol: 'SSE',
    // Keys stay out of the browser's storage.
    shouldPersistHeaders: false,
  };
}
