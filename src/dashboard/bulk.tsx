import { useEffect, useRef, useState } from 'preact/hooks';
import { request, subscribe, type RequestError } from './client.js';
import { count } from './format.js';
import {
  DashBulkProgressDocument,
  DashCancelJobsDocument,
  DashRetryJobsDocument,
  type DashBulkFragment,
  type DashBulkProgressSubscription,
  type JobFilter,
} from './gql/graphql.js';
import { href } from './router.js';
import { Status } from './ui.js';

type Verb = 'retry' | 'cancel';
type Progress = DashBulkProgressSubscription['bulkOperationProgress'];

const run = async (verb: Verb, filter: JobFilter, dryRun: boolean): Promise<DashBulkFragment> => {
  if (verb === 'retry') return (await request(DashRetryJobsDocument, { filter, dryRun })).data.retryJobs;
  return (await request(DashCancelJobsDocument, { filter, dryRun })).data.cancelJobs;
};

/** Bulk retry or cancel of the current filter: a dry run first (count and sample), then the real run with its progress. */
export function BulkPanel({ filter }: { filter: JobFilter }) {
  const [preview, setPreview] = useState<{ verb: Verb; op: DashBulkFragment } | undefined>();
  const [progress, setProgress] = useState<Progress | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const confirm = useRef<HTMLButtonElement>(null);
  const sub = useRef<{ close(): void } | undefined>(undefined);
  useEffect(() => () => sub.current?.close(), []);
  useEffect(() => confirm.current?.focus(), [preview]);

  const dryRun = async (verb: Verb) => {
    setBusy(true);
    setError(undefined);
    setProgress(undefined);
    try {
      setPreview({ verb, op: await run(verb, filter, true) });
    } catch (e) {
      setError((e as RequestError).message);
    } finally {
      setBusy(false);
    }
  };
  const start = async () => {
    if (!preview) return;
    setBusy(true);
    try {
      const op = await run(preview.verb, filter, false);
      setProgress(op);
      setPreview(undefined);
      if (op.id) {
        sub.current?.close();
        sub.current = subscribe(DashBulkProgressDocument, { id: op.id }, {
          next: (data) => setProgress(data.bulkOperationProgress),
          error: (e) => setError(e.message),
        });
      }
    } catch (e) {
      setError((e as RequestError).message);
    } finally {
      setBusy(false);
    }
  };

  const pct = progress ? (progress.matched === 0 ? 100 : Math.floor((progress.processed / progress.matched) * 100)) : 0;
  return (
    <section class="bulk" aria-labelledby="bulk-h">
      <h2 id="bulk-h">Bulk actions on this filter</h2>
      <div class="buttons">
        <button type="button" disabled={busy} onClick={() => dryRun('retry')}>
          Retry matching…
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={() => dryRun('cancel')}>
          Cancel matching…
        </button>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {preview && (
        <div class="preview" data-testid="bulk-preview">
          <p>
            Dry run: <strong data-testid="bulk-matched" data-value={preview.op.matched}>{count(preview.op.matched)}</strong> jobs would be{' '}
            {preview.verb === 'retry' ? 'retried' : 'cancelled'}
            {preview.op.sample.length < preview.op.matched ? ` (the first ${preview.op.sample.length} below)` : ''}.
          </p>
          <ul class="sample">
            {preview.op.sample.map((j) => (
              <li>
                <a href={href(`/jobs/${j.jobId}`)}>{j.jobId}</a> {j.jobType} <Status status={j.status} />
              </li>
            ))}
          </ul>
          <div class="buttons">
            <button type="button" ref={confirm} class={preview.verb === 'cancel' ? 'danger' : ''} disabled={busy || preview.op.matched === 0} onClick={start}>
              {preview.verb === 'retry' ? 'Retry' : 'Cancel'} {count(preview.op.matched)} jobs
            </button>
            <button type="button" class="secondary" onClick={() => setPreview(undefined)}>
              Back
            </button>
          </div>
        </div>
      )}
      {progress && (
        <div class="progress" data-testid="bulk-progress" data-status={progress.status} data-percent={pct}>
          <label for="bulk-bar">
            {progress.status === 'RUNNING' ? 'Running' : progress.status.toLowerCase()}: {count(progress.processed)} of {count(progress.matched)} ({pct} %)
            {progress.failed > 0 ? `, ${count(progress.failed)} failed` : ''}
          </label>
          <progress id="bulk-bar" max={Math.max(1, progress.matched)} value={progress.matched === 0 ? 1 : progress.processed} />
        </div>
      )}
    </section>
  );
}
