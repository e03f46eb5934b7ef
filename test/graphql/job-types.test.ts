import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleJobs } from '../../src/jobs/types/index.js';
import type { JobDefinition } from '../../src/jobs/registry.js';
import { JobTypesDocument } from '../gql/graphql.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { memoryTransport } from '../helpers/email.js';
import { errorCodes, graphql, graphqlData } from '../helpers/graphql.js';

// ajv-formats is CommonJS with `exports.default`; under NodeNext its default import is the module.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** Leaves the key out of a generated payload. */
const ABSENT = Symbol('absent');
type Variants = Record<string, readonly unknown[]>;

/** Every combination of the fields' variants, as payload objects. */
function combinations(fields: Variants): Record<string, unknown>[] {
  return Object.entries(fields).reduce<Record<string, unknown>[]>(
    (payloads, [key, values]) =>
      payloads.flatMap((payload) => values.map((value) => (value === ABSENT ? payload : { ...payload, [key]: value }))),
    [{}],
  );
}

/**
 * A rule a shipped type checks but JSON Schema cannot express, so it is stated in the published
 * schema's `description` instead: the only way a payload may pass the schema and fail enqueue.
 */
interface DescribedRule {
  /** The zod issue message, which the schema's description must also contain. */
  message: string;
  /** Whether a payload the JSON Schema accepts breaks the rule. */
  breaks(payload: Record<string, unknown>): boolean;
}

interface Samples {
  /** Field variants, crossed into every combination. */
  generated: Variants;
  /** Payloads worth naming; these also go through `enqueueJob` over HTTP. */
  handwritten: unknown[];
  describedRules?: DescribedRule[];
}

const ada = 'ada@example.com';
const dates = ['2024-01-01T00:00:00Z', '2024-01-02T10:30:00.250+02:00', '2024-01-01T00:00:00.1234567890Z'];
const notDates = ['2024-01-01', '2024-01-01T00:00Z', '2024-01-01 00:00:00Z', '2024-01-01T00:00:00', '2024-02-30T00:00:00Z', 'yesterday', 0];

/** Payloads for every shipped job type: valid ones, each kind of invalid one, and edge cases. */
const samples: Record<string, Samples> = {
  'send-email': {
    generated: {
      to: [ada, [ada], [ada, 'grace@example.org'], [ada, 'not-an-email'], [], 'not-an-email', 'ada@example-.com', ABSENT],
      subject: ['Welcome', '', 'x'.repeat(998), 'x'.repeat(999), '😀'.repeat(998), 42, ABSENT],
      text: ['Hello Ada', '', null, ABSENT],
      html: ['<p>Hello Ada</p>', 5, ABSENT],
      from: ['jobs@example.com', 'jobscope', ABSENT],
      replyTo: ["o'brien+help@sub.example.co.uk", ABSENT],
    },
    handwritten: [
      { to: ada, subject: 'Welcome' }, // a subject but no body: the case that used to pass the published schema
      { to: ada, subject: 'Welcome', text: 'Hello' },
      { to: ada, subject: 'Welcome', html: '<p>Hello</p>' },
      { to: [ada, 'grace@example.org'], subject: 'Welcome', text: 'Hello', html: '<p>Hello</p>', unknownKey: true },
      { to: Array.from({ length: 50 }, (_, i) => `user${i}@example.com`), subject: 'Many', text: 'Hi' },
      { to: Array.from({ length: 51 }, (_, i) => `user${i}@example.com`), subject: 'Too many', text: 'Hi' },
      { to: 'a@b.c', subject: 'One-letter top-level domain', text: 'Hi' },
      { to: 'ADA@EXAMPLE.COM', subject: 'Upper case', text: 'Hi' },
      { to: 'a..b@example.com', subject: 'Two dots', text: 'Hi' },
      { to: 'ü@example.com', subject: 'Not ASCII', text: 'Hi' },
      { to: ada, subject: 'Welcome', text: 5 },
      {},
      null,
      [],
      'ada@example.com',
    ],
  },
  'generate-report': {
    generated: {
      reportType: ['job-summary', 'other', ABSENT],
      since: [...dates, ...notDates, ABSENT],
      until: [...dates, ABSENT],
      jobType: ['send-email', '', ABSENT],
    },
    handwritten: [
      { reportType: 'job-summary' },
      { reportType: 'job-summary', since: '2024-01-01T00:00:00Z', until: '2024-01-02T00:00:00Z', jobType: 'send-email' },
      // Equal instants written with different offsets: since is not before until.
      { reportType: 'job-summary', since: '2024-01-01T02:00:00+02:00', until: '2024-01-01T00:00:00Z' },
      { reportType: 'job-summary', since: '2024-01-02T00:00:00Z', until: '2024-01-01T00:00:00Z' },
      { reportType: 'job-summary', since: '2024-01-01T00:00:00Z' },
      { reportType: 'job-summary', until: '2024-01-01T00:00:00Z', jobType: 5 },
      { reportType: 'daily' },
      {},
      null,
    ],
    describedRules: [
      {
        message: 'since must be before until',
        breaks: ({ since, until }) =>
          typeof since === 'string' && typeof until === 'string' && Date.parse(since) >= Date.parse(until),
      },
    ],
  },
};

type Verdict = { schema: boolean; enqueue: boolean; messages: string[] };

describe(`jobTypes.payloadSchema says what enqueueJob enforces, on ${databaseKind}`, () => {
  let database: TestDatabase;
  let t: TestApp;
  const definitions: JobDefinition[] = exampleJobs({ emailTransport: memoryTransport() });
  /** The JSON Schemas exactly as a client reads them from `jobTypes { payloadSchema }`, compiled by ajv. */
  const published = new Map<string, { schema: { description?: string }; validate: ValidateFunction }>();

  beforeAll(async () => {
    database = await createTestDatabase();
    t = await startTestApp(database.handle, { jobs: definitions });
    const { jobTypes } = await graphqlData(t.baseUrl, JobTypesDocument);
    // Formats asserted (email, date-time), as a strict client would.
    const ajv = new Ajv2020({ allErrors: true });
    addFormats(ajv);
    for (const { name, payloadSchema } of jobTypes) {
      published.set(name, { schema: payloadSchema as { description?: string }, validate: ajv.compile(payloadSchema as object) });
    }
  });
  afterAll(async () => {
    await t?.close();
    await database?.destroy();
  });

  it('has samples for every shipped job type', () => {
    expect([...published.keys()]).toEqual(definitions.map((d) => d.type));
    expect(Object.keys(samples).sort()).toEqual(definitions.map((d) => d.type).sort());
  });

  /** What the published schema (ajv, formats asserted) and the enqueue validator say of a payload. */
  function judge(definition: JobDefinition, payload: unknown): Verdict {
    const { validate } = published.get(definition.type)!;
    // enqueueJob validates with exactly this call (JobDispatcher.enqueue).
    const parsed = definition.schema.safeParse(payload);
    return { schema: validate(payload) === true, enqueue: parsed.success, messages: parsed.error?.issues.map((i) => i.message) ?? [] };
  }

  for (const definition of definitions) {
    it(`${definition.type}: a payload passes the published schema exactly when enqueue accepts it`, () => {
      const { generated, handwritten, describedRules = [] } = samples[definition.type]!;
      const { schema } = published.get(definition.type)!;
      for (const rule of describedRules) expect(schema.description).toContain(rule.message);

      const payloads = [...combinations(generated), ...handwritten];
      const disagreements: unknown[] = [];
      const counts = { accepted: 0, rejected: 0, byDescribedRule: 0 };
      for (const payload of payloads) {
        const verdict = judge(definition, payload);
        // A payload may pass the schema and fail enqueue only by breaking a rule the description
        // states, and then enqueue must name that rule and nothing else.
        const broken = verdict.schema ? describedRules.filter((r) => r.breaks(payload as Record<string, unknown>)) : [];
        if (broken.length > 0) {
          const named = !verdict.enqueue && verdict.messages.every((m) => broken.some((r) => r.message === m));
          if (named) counts.byDescribedRule += 1;
          else disagreements.push({ payload, ...verdict, broken: broken.map((r) => r.message) });
          continue;
        }
        if (verdict.schema !== verdict.enqueue) disagreements.push({ payload, ...verdict });
        counts[verdict.enqueue ? 'accepted' : 'rejected'] += 1;
      }
      expect(disagreements).toEqual([]);
      // The samples reach both sides of the line, and every described rule is exercised.
      expect(counts.accepted).toBeGreaterThan(10);
      expect(counts.rejected).toBeGreaterThan(10);
      expect(counts.byDescribedRule > 0).toBe(describedRules.length > 0);
    });
  }

  it('send-email: { to, subject } alone fails the published schema and enqueue, naming the missing body', () => {
    const sendEmail = definitions.find((d) => d.type === 'send-email')!;
    expect(judge(sendEmail, { to: ada, subject: 'Welcome' })).toEqual({
      schema: false,
      enqueue: false,
      messages: ['either text or html is required'],
    });
  });

  it('enqueueJob over HTTP accepts the handwritten samples the schema accepts and rejects the rest with INVALID_PAYLOAD', async () => {
    for (const definition of definitions) {
      const { handwritten, describedRules = [] } = samples[definition.type]!;
      // A null payload never reaches enqueue: GraphQL refuses null for the required `payload` field.
      for (const payload of handwritten.filter((p) => p !== null)) {
        const { schema } = judge(definition, payload);
        const breaksDescribedRule = describedRules.some((r) => r.breaks(payload as Record<string, unknown>));
        const response = await graphql(t.baseUrl, 'mutation($input: EnqueueJobInput!) { enqueueJob(input: $input) { jobId } }', {
          variables: { input: { jobType: definition.type, payload } },
        });
        expect({ payload, codes: errorCodes(response) }).toEqual({
          payload,
          codes: schema && !breaksDescribedRule ? [] : ['INVALID_PAYLOAD'],
        });
      }
    }
  });
});
