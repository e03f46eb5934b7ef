import { useMemo, useState } from 'preact/hooks';
import { request, type RequestError } from './client.js';
import { seconds, time } from './format.js';
import { DashCancelJobDocument, DashJobDocument, DashReplayJobDocument, DashRetryJobDocument, type DashJobQuery } from './gql/graphql.js';
import { useJobEvents, useThrottled } from './live-events.js';
import { checkValue, fieldText, fieldValue, payloadFields, type PayloadField } from './payload-form.js';
import { href, navigate } from './router.js';
import { canOperate, useSession } from './session.js';
import { ErrorNote, FieldErrors, Json, Status } from './ui.js';
import { useQuery } from './use-query.js';

type Job = NonNullable<DashJobQuery['jobExecution']>;

export function JobPage({ jobId }: { jobId: string }) {
  const session = useSession();
  const { data, errors, error, refetch } = useQuery(DashJobDocument, { jobId });
  const refresh = useThrottled(refetch, 300);
  // The page follows the job: every event of it reloads it, and so does the stream's opening (what
  // happened between the first load and the subscription is not missed).
  useJobEvents(refresh, { jobId: [jobId] }, refresh);
  if (error && !data) return <ErrorNote error={error} />;
  if (!data) return <p aria-busy="true">Loading…</p>;
  const job = data.jobExecution;
  if (!job) return <p class="error" role="alert">No job {jobId}.</p>;
  return (
    <article class="job" aria-labelledby="job-h">
      <h2 id="job-h">
        {job.jobType} <code>{job.jobId}</code> <span data-testid="job-status" data-value={job.status}><Status status={job.status} /></span>
      </h2>
      <FieldErrors errors={errors} />
      {canOperate(session) && <Actions job={job} onDone={refetch} />}
      <dl class="facts">
        <dt>Created</dt><dd>{time(job.createdAt)}</dd>
        <dt>Started</dt><dd>{time(job.startedAt)}</dd>
        <dt>Finished</dt><dd>{time(job.completedAt)}</dd>
        <dt>Duration</dt><dd>{seconds(job.durationSeconds)}</dd>
        <dt>Queue wait</dt><dd>{seconds(job.queueWaitSeconds)}</dd>
        <dt>Retries</dt><dd>{job.retryCount} of {job.maxRetries}</dd>
        <dt>User</dt><dd>{job.userId ?? '—'}</dd>
        <dt>Organisation</dt><dd>{job.organizationId ?? '—'}</dd>
        <dt>Message</dt><dd><code>{job.messageId ?? '—'}</code></dd>
        {job.scheduleId && (<><dt>Schedule</dt><dd><code>{job.scheduleId}</code></dd></>)}
        {job.replayOf && (<><dt>Replay of</dt><dd><a href={href(`/jobs/${job.replayOf.jobId}`)}>{job.replayOf.jobId}</a></dd></>)}
        {job.replays.length > 0 && (<><dt>Replays</dt><dd>{job.replays.map((r) => <a href={href(`/jobs/${r.jobId}`)}>{r.jobId} </a>)}</dd></>)}
      </dl>
      {job.error && (
        <section aria-labelledby="error-h">
          <h3 id="error-h">Error</h3>
          <pre class="json error-text" data-testid="job-error">{job.error}</pre>
        </section>
      )}
      <section aria-labelledby="diag-h" class="diagnosis">
        <h3 id="diag-h">Diagnosis: <span data-testid="diagnosis-verdict">{job.diagnosis.verdict}</span></h3>
        <p>{job.diagnosis.summary}</p>
        {job.diagnosis.remedy && <p><strong>Remedy:</strong> {job.diagnosis.remedy}</p>}
      </section>
      <div class="columns">
        <section aria-labelledby="payload-h"><h3 id="payload-h">Payload</h3><Json value={job.payload} label="Payload" /></section>
        <section aria-labelledby="meta-h"><h3 id="meta-h">Metadata</h3><Json value={job.metadata} label="Metadata" /></section>
        <section aria-labelledby="result-h"><h3 id="result-h">Result</h3><Json value={job.result} label="Result" /></section>
      </div>
      <section aria-labelledby="attempts-h">
        <h3 id="attempts-h">Attempts</h3>
        <div class="scroll">
          <table data-testid="attempts">
            <thead><tr><th scope="col">#</th><th scope="col">Started</th><th scope="col" class="num">HTTP</th><th scope="col" class="num">Duration</th><th scope="col">Error</th></tr></thead>
            <tbody>
              {job.attempts.map((a) => (
                <tr>
                  <td>{a.attempt}</td><td>{time(a.startedAt)}</td><td class="num" data-col="http">{a.httpStatus ?? '—'}</td>
                  <td class="num">{seconds(a.durationSeconds)}</td><td>{a.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section aria-labelledby="logs-h">
        <h3 id="logs-h">Logs</h3>
        {job.logs.length === 0 ? <p class="muted">No log lines kept.</p> : (
          <ol class="logs" data-testid="logs">
            {job.logs.map((l) => (
              <li class={`log-${l.level}`}><time>{time(l.at)}</time> <span class="level">{l.level}</span> {l.attempt != null ? `#${l.attempt} ` : ''}{l.message}</li>
            ))}
          </ol>
        )}
      </section>
    </article>
  );
}

function Actions({ job, onDone }: { job: Job; onDone: () => void }) {
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [replaying, setReplaying] = useState(false);
  const act = async (kind: 'retry' | 'cancel') => {
    setBusy(true);
    setError(undefined);
    try {
      if (kind === 'retry') await request(DashRetryJobDocument, { jobId: job.jobId });
      else await request(DashCancelJobDocument, { jobId: job.jobId });
      onDone();
    } catch (e) {
      setError((e as RequestError).message);
    } finally {
      setBusy(false);
    }
  };
  const retryable = job.status === 'FAILED' || job.status === 'CANCELLED';
  const cancellable = job.status === 'PENDING' || job.status === 'RETRYING';
  return (
    <div class="actions">
      <div class="buttons">
        {retryable && <button type="button" disabled={busy} onClick={() => act('retry')}>Retry</button>}
        {cancellable && <button type="button" class="danger" disabled={busy} onClick={() => act('cancel')}>Cancel</button>}
        <button type="button" class="secondary" aria-expanded={replaying} onClick={() => setReplaying((r) => !r)}>Replay with edited payload…</button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
      {replaying && <ReplayForm job={job} />}
    </div>
  );
}

function ReplayForm({ job }: { job: Job }) {
  const session = useSession();
  const type = session.jobTypes.find((t) => t.name === job.jobType);
  const fields = useMemo(() => payloadFields(type?.payloadSchema), [type]);
  const original = (job.payload ?? {}) as Record<string, unknown>;
  const [texts, setTexts] = useState<Record<string, string>>(() =>
    fields ? Object.fromEntries(fields.map((f) => [f.name, fieldText(f, original[f.name])])) : { '': JSON.stringify(job.payload, null, 2) },
  );
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  const build = (): { payload?: unknown; errors: Record<string, string> } => {
    const found: Record<string, string> = {};
    if (!fields) {
      const v = fieldValue({ name: '', kind: 'json', required: true, schema: {} }, texts[''] ?? '');
      if (v.error) found[''] = v.error;
      return { payload: v.value, errors: found };
    }
    const payload: Record<string, unknown> = {};
    for (const f of fields) {
      const v = fieldValue(f, texts[f.name] ?? '');
      const problem = v.error ?? (v.value === undefined ? undefined : checkValue(f.schema, v.value));
      if (problem) found[f.name] = problem;
      else if (v.value !== undefined) payload[f.name] = v.value;
    }
    return { payload, errors: found };
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const { payload, errors: found } = build();
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    try {
      const { data } = await request(DashReplayJobDocument, { jobId: job.jobId, payload });
      navigate(`/jobs/${data.replayJob.jobId}`);
    } catch (error) {
      // The server's own check (a refine the JSON Schema cannot say): each issue by its first key.
      const err = error as RequestError;
      const issues = err.errors?.[0]?.extensions?.issues;
      if (issues?.length) {
        const byField: Record<string, string> = {};
        for (const issue of issues) {
          const name = fields && typeof issue.path[0] === 'string' && fields.some((f) => f.name === issue.path[0]) ? issue.path[0] : '';
          byField[name] = byField[name] ? `${byField[name]}; ${issue.message}` : issue.message;
        }
        setErrors(byField);
      } else setErrors({ '': err.message });
    } finally {
      setBusy(false);
    }
  };

  const input = (f: PayloadField) => {
    const id = `replay-${f.name}`;
    const err = errors[f.name];
    const common = {
      id,
      name: f.name,
      'aria-invalid': err ? ('true' as const) : undefined,
      'aria-describedby': err ? `${id}-error` : undefined,
    };
    const set = (value: string) => setTexts((t) => ({ ...t, [f.name]: value }));
    return (
      <div class="field">
        <label for={id}>{f.name}{f.required ? ' *' : ''}{f.kind === 'json' ? ' (JSON)' : ''}</label>
        {f.kind === 'boolean' ? (
          <input type="checkbox" {...common} checked={texts[f.name] === 'true'} onChange={(e) => set(String(e.currentTarget.checked))} />
        ) : f.kind === 'json' ? (
          <textarea {...common} rows={3} value={texts[f.name]} onInput={(e) => set(e.currentTarget.value)} />
        ) : (
          <input {...common} type={(f.kind === 'string' ? (f.schema.format === 'email' ? 'email' : 'text') : 'number') as 'text'} step={f.kind === 'number' ? 'any' : undefined} value={texts[f.name]} onInput={(e) => set(e.currentTarget.value)} />
        )}
        {err && <span class="field-error" id={`${id}-error`}>{err}</span>}
      </div>
    );
  };

  return (
    <form class="replay" onSubmit={submit} noValidate aria-label="Replay with an edited payload">
      <p class="muted">A new {job.jobType} job with this payload; this one stays as it is.</p>
      {fields?.map(input)}
      {!fields && (
        <div class="field">
          <label for="replay-json">Payload (JSON)</label>
          <textarea id="replay-json" rows={8} value={texts['']} onInput={(e) => setTexts({ '': e.currentTarget.value })} />
        </div>
      )}
      {errors[''] && <p class="field-error" role="alert">{errors['']}</p>}
      <div class="buttons"><button type="submit" disabled={busy}>Replay</button></div>
    </form>
  );
}
