import { useEffect, useMemo, useState } from 'preact/hooks';
import { BulkPanel } from './bulk.js';
import { count, seconds, time } from './format.js';
import { formFromParams, paramsFromForm, STATUSES, toJobFilter, type FilterForm, type FormErrors } from './filter.js';
import { DashRunsDocument } from './gql/graphql.js';
import { href, navigate, type Location } from './router.js';
import { canOperate, useSession } from './session.js';
import { ErrorNote, Status } from './ui.js';
import { useQuery } from './use-query.js';

const PAGE = 25;

export function Runs({ where }: { where: Location }) {
  const session = useSession();
  const applied = useMemo(() => formFromParams(where.params), [where.params.toString()]);
  const [form, setForm] = useState<FilterForm>(applied);
  const [formErrors, setFormErrors] = useState<FormErrors>({});
  useEffect(() => setForm(applied), [applied]);
  const { filter } = toJobFilter(applied);
  // Keyset paging: the cursor and its direction live in the hash too.
  const after = where.params.get('cursorAfter');
  const before = where.params.get('cursorBefore');
  const variables = before ? { filter, last: PAGE, before } : { filter, first: PAGE, ...(after ? { after } : {}) };
  const { data, error, loading } = useQuery(DashRunsDocument, variables);

  const apply = (e: Event) => {
    e.preventDefault();
    const { errors } = toJobFilter(form);
    setFormErrors(errors);
    if (Object.keys(errors).length === 0) navigate('/runs', paramsFromForm(form));
  };
  const page = (key: 'cursorAfter' | 'cursorBefore', cursor: string | null | undefined) => {
    const params = paramsFromForm(applied);
    if (cursor) params.set(key, cursor);
    return href('/runs', params);
  };
  const set = <K extends keyof FilterForm>(key: K, value: FilterForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const text = (key: Exclude<keyof FilterForm, 'status'>, label: string, type: 'text' | 'search' | 'datetime-local' = 'text', placeholder = '') => (
    <div class="field">
      <label for={`f-${key}`}>{label}</label>
      <input
        id={`f-${key}`}
        name={key}
        type={type as 'text'}
        value={form[key]}
        placeholder={placeholder}
        aria-invalid={formErrors[key] ? 'true' : undefined}
        aria-describedby={formErrors[key] ? `f-${key}-error` : undefined}
        onInput={(e) => set(key, e.currentTarget.value)}
      />
      {formErrors[key] && (
        <span class="field-error" id={`f-${key}-error`}>
          {formErrors[key]}
        </span>
      )}
    </div>
  );

  const connection = data?.jobExecutions;
  return (
    <div>
      <form class="filter" onSubmit={apply} aria-label="Filter jobs">
        <fieldset class="statuses">
          <legend>Status</legend>
          {STATUSES.map((s) => (
            <label>
              <input
                type="checkbox"
                name="status"
                value={s}
                checked={form.status.includes(s)}
                onChange={(e) => set('status', e.currentTarget.checked ? [...form.status, s] : form.status.filter((x) => x !== s))}
              />{' '}
              {s.toLowerCase()}
            </label>
          ))}
        </fieldset>
        <div class="field">
          <label for="f-type">Type</label>
          <select id="f-type" name="type" value={form.type} onChange={(e) => set('type', e.currentTarget.value)}>
            <option value="">any</option>
            {session.jobTypes.map((t) => (
              <option value={t.name}>{t.name}</option>
            ))}
          </select>
        </div>
        {text('createdAfter', 'Created after', 'datetime-local')}
        {text('createdBefore', 'Created before', 'datetime-local')}
        {text('errorContains', 'Error contains', 'search', 'ECONNRESET')}
        {text('userId', 'User')}
        {text('organizationId', 'Organisation')}
        {text('payloadContains', 'Payload contains (JSON)', 'text', '{"to": "ada@example.com"}')}
        <div class="buttons">
          <button type="submit">Apply filter</button>
          <a class="button secondary" href={href('/runs')}>
            Clear
          </a>
        </div>
      </form>

      {canOperate(session) && <BulkPanel filter={filter} key={JSON.stringify(filter)} />}

      {error && !data ? (
        <ErrorNote error={error} />
      ) : !connection ? (
        <p aria-busy="true">Loading…</p>
      ) : (
        <section aria-labelledby="runs-h" aria-busy={loading}>
          <h2 id="runs-h">
            <span data-testid="runs-total" data-value={connection.totalCount}>{count(connection.totalCount)}</span> jobs
          </h2>
          <div class="scroll">
            <table data-testid="runs-table">
              <thead>
                <tr>
                  <th scope="col">Job</th>
                  <th scope="col">Type</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">Retries</th>
                  <th scope="col">Created</th>
                  <th scope="col" class="num">Duration</th>
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {connection.nodes.map((j) => (
                  <tr data-job={j.jobId} key={j.jobId}>
                    <th scope="row">
                      <a href={href(`/jobs/${j.jobId}`)}>{j.jobId}</a>
                    </th>
                    <td>{j.jobType}</td>
                    <td><Status status={j.status} /></td>
                    <td class="num">{j.retryCount}</td>
                    <td>{time(j.createdAt)}</td>
                    <td class="num">{seconds(j.durationSeconds)}</td>
                    <td class="clip" title={j.error ?? ''}>{j.error ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav class="pager" aria-label="Pages">
            {connection.pageInfo.hasPreviousPage || after ? <a href={page('cursorBefore', connection.pageInfo.startCursor)}>← Newer</a> : <span />}
            {connection.pageInfo.hasNextPage ? <a href={page('cursorAfter', connection.pageInfo.endCursor)}>Older →</a> : <span />}
          </nav>
        </section>
      )}
    </div>
  );
}
