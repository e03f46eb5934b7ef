import { VERDICTS, type JobDiagnosis, type Mismatch, type Reconciliation } from '../jobs/index.js';
import { JobNotFoundError } from '../jobs/errors.js';
import { builder } from './builder.js';
import type { GraphQLContext } from './context.js';
import { jobById, JobExecutionRef } from './job-execution.js';
import { JobStatusEnum } from './job-status.js';

const VERDICT_DESCRIPTIONS: Record<(typeof VERDICTS)[number], string> = {
  HEALTHY: 'Completed.',
  RUNNING: 'An attempt is running and its worker is alive.',
  NOT_DELIVERED_YET: "Delayed and not due, waiting in its type's (maybe paused) queue, or not published yet.",
  RETRYING: 'An attempt failed; QStash will deliver it again.',
  CANCELLED: 'Cancelled.',
  PAYLOAD_INVALID: 'The worker refused its payload (the type\'s schema); see `payload`.',
  TIMEOUT: "An attempt ran past the type's timeout; see `timeout`.",
  HANDLER_ERROR: 'The handler threw; see `handlerError`.',
  WORKER_LOST: 'An attempt started and never finished: a crash, a kill or a deploy.',
  ENDPOINT_UNREACHABLE: 'QStash could not deliver it to the worker endpoint (connection refused, DNS, 404/5xx before the worker ran).',
  SIGNATURE_INVALID: "The worker rejected QStash's deliveries with 401: the signature did not verify (signing keys, BASE_URL).",
  PUBLISH_FAILED: 'Publishing it to QStash failed; it was never delivered.',
};

const VerdictEnum = builder.enumType('DiagnosisVerdict', {
  description: 'Which of the operations guide\'s failure scenarios a job is in, or that it is fine.',
  values: Object.fromEntries(VERDICTS.map((verdict) => [verdict, { value: verdict, description: VERDICT_DESCRIPTIONS[verdict] }])) as Record<
    (typeof VERDICTS)[number],
    { value: (typeof VERDICTS)[number]; description: string }
  >,
});

const FactRef = builder.objectRef<JobDiagnosis['evidence'][number]>('DiagnosisEvidence').implement({
  description: 'One fact a verdict rests on.',
  fields: (t) => ({
    source: t.exposeString('source', { description: "`DATABASE` (jobscope's records), `QSTASH` (QStash's log of the job's messages) or `CONFIG`." }),
    message: t.exposeString('message'),
    at: t.expose('at', { type: 'DateTime', nullable: true }),
  }),
});

const TimeoutRef = builder.objectRef<NonNullable<JobDiagnosis['timeout']>>('TimeoutFinding').implement({
  fields: (t) => ({
    timeoutSeconds: t.exposeFloat('timeoutSeconds', { description: "The type's timeout." }),
    attemptDurationsSeconds: t.field({ type: ['Float'], nullable: { list: false, items: true }, resolve: (f) => f.attemptDurationsSeconds }),
    p95DurationSeconds: t.exposeFloat('p95DurationSeconds', { nullable: true, description: "The type's p95 over its completed jobs." }),
    suggestedTimeoutSeconds: t.exposeInt('suggestedTimeoutSeconds', { description: 'Enough for the longest attempt and the p95, with a 50 % margin.' }),
  }),
});

const HandlerErrorRef = builder.objectRef<NonNullable<JobDiagnosis['handlerError']>>('HandlerErrorFinding').implement({
  fields: (t) => ({
    errors: t.exposeStringList('errors', { description: 'The error of each failed attempt, oldest first.' }),
    sameEachTime: t.exposeBoolean('sameEachTime'),
    otherJobsWithSameError: t.exposeInt('otherJobsWithSameError', { description: 'Other jobs of the type that failed with the latest error in the window.' }),
    windowHours: t.exposeInt('windowHours'),
  }),
});

const PayloadRef = builder.objectRef<NonNullable<JobDiagnosis['payload']>>('PayloadFinding').implement({
  fields: (t) => ({
    error: t.exposeString('error', { description: 'Why the worker refused it, as recorded.' }),
    passesSchemaToday: t.exposeBoolean('passesSchemaToday', { description: "Whether the stored payload passes the type's schema as registered now." }),
    issuesToday: t.field({ type: 'JSON', resolve: (f) => f.issuesToday, description: '`[{ path, message }]` of the schema today (empty when it passes).' }),
  }),
});

const JobDiagnosisRef = builder.objectRef<JobDiagnosis>('JobDiagnosis').implement({
  description: "Why a job is where it is: a verdict, the evidence behind it and the remedy in the operations guide's words, with this deployment's values.",
  fields: (t) => ({
    jobId: t.exposeID('jobId'),
    verdict: t.field({ type: VerdictEnum, resolve: (d) => d.verdict }),
    summary: t.exposeString('summary'),
    remedy: t.exposeString('remedy', { nullable: true, description: 'What to do; null when nothing needs doing.' }),
    evidence: t.field({ type: [FactRef], resolve: (d) => d.evidence }),
    timeout: t.field({ type: TimeoutRef, nullable: true, resolve: (d) => d.timeout, description: 'Set for TIMEOUT.' }),
    handlerError: t.field({ type: HandlerErrorRef, nullable: true, resolve: (d) => d.handlerError, description: 'Set for HANDLER_ERROR.' }),
    payload: t.field({ type: PayloadRef, nullable: true, resolve: (d) => d.payload, description: 'Set for PAYLOAD_INVALID.' }),
  }),
});

async function diagnosisOf(ctx: GraphQLContext, jobId: string): Promise<JobDiagnosis> {
  const diagnosis = await ctx.jobs.diagnose(jobId);
  if (!diagnosis) throw new JobNotFoundError(jobId);
  return diagnosis;
}

builder.queryField('jobDiagnosis', (t) =>
  t.field({
    type: JobDiagnosisRef,
    description: 'Why a job is where it is (see JobDiagnosis). Reads the job, its attempts and, for a job not past its deliveries, QStash\'s log of its messages. Errors: JOB_NOT_FOUND.',
    args: { jobId: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => diagnosisOf(ctx, String(args.jobId)),
  }),
);

builder.objectField(JobExecutionRef, 'diagnosis', (t) =>
  t.field({
    type: JobDiagnosisRef,
    description: 'The job\'s diagnosis (jobDiagnosis): a few reads and maybe a QStash call per job, so ask for it on one job, not a long list.',
    resolve: (job, _args, ctx) => diagnosisOf(ctx, job.jobId),
  }),
);

const MismatchKindEnum = builder.enumType('ReconciliationMismatchKind', {
  values: {
    DELIVERED_NOT_RECORDED: { value: 'DELIVERED_NOT_RECORDED', description: 'QStash says delivered; the job is still pending, processing or retrying.' },
    RETRYING_BUT_COMPLETED: { value: 'RETRYING_BUT_COMPLETED', description: 'The job is completed; QStash is still working on its message.' },
    FAILED_WITHOUT_ROW: { value: 'FAILED_WITHOUT_ROW', description: 'QStash failed or dead-lettered a message to a worker endpoint that jobscope has no job for.' },
    PENDING_NOT_IN_QSTASH: { value: 'PENDING_NOT_IN_QSTASH', description: 'The job is pending; QStash does not hold its message.' },
  } as const,
});

const MismatchRef = builder.objectRef<Mismatch>('ReconciliationMismatch').implement({
  description: 'One place QStash and jobscope disagree, with both sides.',
  fields: (t) => ({
    kind: t.field({ type: MismatchKindEnum, resolve: (m) => m.kind }),
    messageId: t.exposeString('messageId'),
    jobId: t.exposeID('jobId', { nullable: true }),
    qstashState: t.exposeString('qstashState', { nullable: true, description: "QStash's latest state of the message; null: QStash does not have it." }),
    jobStatus: t.field({ type: JobStatusEnum, nullable: true, resolve: (m) => m.jobStatus, description: 'The row\'s status; null: no row.' }),
    detail: t.exposeString('detail'),
    job: t.field({ type: JobExecutionRef, nullable: true, resolve: (m, _args, ctx) => jobById(ctx, m.jobId) }),
  }),
});

const ReconciliationRef = builder.objectRef<Reconciliation>('Reconciliation').implement({
  fields: (t) => ({
    since: t.expose('since', { type: 'DateTime' }),
    messagesChecked: t.exposeInt('messagesChecked', { description: 'Messages to the worker endpoints QStash logged since then.' }),
    jobsChecked: t.exposeInt('jobsChecked'),
    mismatches: t.field({ type: [MismatchRef], resolve: (r) => r.mismatches }),
    truncated: t.exposeBoolean('truncated', { description: "QStash's log held more than was read (10,000 events): the oldest part was not checked." }),
  }),
});

builder.queryField('reconciliation', (t) =>
  t.field({
    type: ReconciliationRef,
    description:
      "QStash's message log since `since` (the Client's logs) joined with jobscope's rows by message id: each mismatch with both sides. " +
      'Messages to the worker endpoints only, matched by path. Errors: QSTASH_ERROR.',
    args: { since: t.arg({ type: 'DateTime', required: true }) },
    resolve: (_root, args, ctx) => ctx.jobs.reconcile(args.since),
  }),
);
