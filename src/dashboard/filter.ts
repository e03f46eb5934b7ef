import type { JobFilter, JobStatus } from './gql/graphql.js';

export const STATUSES: JobStatus[] = ['PENDING', 'PROCESSING', 'RETRYING', 'COMPLETED', 'FAILED', 'CANCELLED'];

/** The Runs page's filter as the hash's query string keeps it (`#/runs?status=FAILED&type=x`): shareable, and Back works. */
export interface FilterForm {
  status: JobStatus[];
  type: string;
  createdAfter: string;
  createdBefore: string;
  errorContains: string;
  userId: string;
  organizationId: string;
  payloadContains: string;
}

export function formFromParams(params: URLSearchParams): FilterForm {
  return {
    status: params.getAll('status').filter((s): s is JobStatus => (STATUSES as string[]).includes(s)),
    type: params.get('type') ?? '',
    createdAfter: params.get('after') ?? '',
    createdBefore: params.get('before') ?? '',
    errorContains: params.get('error') ?? '',
    userId: params.get('user') ?? '',
    organizationId: params.get('org') ?? '',
    payloadContains: params.get('payload') ?? '',
  };
}

export function paramsFromForm(form: FilterForm): URLSearchParams {
  const params = new URLSearchParams();
  for (const s of form.status) params.append('status', s);
  const put = (key: string, value: string) => value.trim() && params.set(key, value.trim());
  put('type', form.type);
  put('after', form.createdAfter);
  put('before', form.createdBefore);
  put('error', form.errorContains);
  put('user', form.userId);
  put('org', form.organizationId);
  put('payload', form.payloadContains);
  return params;
}

/** Field name → what is wrong with it; empty when the form makes a filter. */
export type FormErrors = Partial<Record<keyof FilterForm, string>>;

/** The GraphQL JobFilter the form names, or the fields that do not make one. */
export function toJobFilter(form: FilterForm): { filter: JobFilter; errors: FormErrors } {
  const errors: FormErrors = {};
  const filter: JobFilter = {};
  if (form.status.length > 0) filter.status = form.status;
  if (form.type) filter.jobType = [form.type];
  const date = (field: 'createdAfter' | 'createdBefore') => {
    if (!form[field]) return;
    // datetime-local has no zone: the browser's own.
    const at = new Date(form[field]);
    if (Number.isNaN(at.getTime())) errors[field] = 'Not a date and time';
    else filter[field] = at.toISOString();
  };
  date('createdAfter');
  date('createdBefore');
  if (filter.createdAfter && filter.createdBefore && filter.createdAfter >= filter.createdBefore) errors.createdBefore = 'Must be after "Created after"';
  if (form.errorContains.trim()) filter.errorContains = form.errorContains.trim();
  if (form.userId.trim()) filter.userId = form.userId.trim();
  if (form.organizationId.trim()) filter.organizationId = form.organizationId.trim();
  if (form.payloadContains.trim()) {
    try {
      const value: unknown = JSON.parse(form.payloadContains);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) errors.payloadContains = 'A JSON object, e.g. {"to": "ada@example.com"}';
      else filter.payloadContains = value;
    } catch (error) {
      errors.payloadContains = `Not JSON: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  return { filter, errors };
}
