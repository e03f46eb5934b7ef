import { JOB_FILTER_FIELD_NAMES, JOB_FILTER_FIELDS, parseJobFilter, type FilterFieldKind, type JobFilter } from '../jobs/read/filter.js';
import { builder } from './builder.js';
import { JobStatusEnum } from './job-status.js';

type InputFields = Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0];

/** One input field per JobFilter field, typed by its kind: both input types below are built from this. */
function filterFields(t: InputFields) {
  const field = (kind: FilterFieldKind, description: string) => {
    const options = { required: false, description } as const;
    switch (kind) {
      case 'statuses':
        return t.field({ ...options, type: [JobStatusEnum] });
      case 'strings':
        return t.stringList(options);
      case 'ids':
        return t.idList(options);
      case 'instant':
        return t.field({ ...options, type: 'DateTime' });
      case 'string':
        return t.string(options);
      case 'json':
        return t.field({ ...options, type: 'JSON' });
      case 'int':
        return t.int(options);
      case 'float':
        return t.float(options);
    }
  };
  return Object.fromEntries(JOB_FILTER_FIELD_NAMES.map((name) => [name, field(JOB_FILTER_FIELDS[name].kind, JOB_FILTER_FIELDS[name].description)]));
}

const DESCRIPTION = 'Which jobs: every given field must hold; a list matches any of its values (an empty list matches nothing).';

/** The filter of every verb that names a set of jobs (statistics, bulk verbs, jobEvents). */
export const JobFilterInput = builder.inputType('JobFilter', { description: DESCRIPTION, fields: filterFields });

/**
 * The same fields under the name `jobExecutions` and `purgeJobExecutions` have always taken, so
 * documents declaring `$filter: JobExecutionFilter` keep working.
 */
export const JobExecutionFilterInput = builder.inputType('JobExecutionFilter', {
  description: `${DESCRIPTION} The same fields as JobFilter.`,
  fields: filterFields,
});

/** A filter argument as the domain takes it (nulls mean "not given"); BAD_USER_INPUT for a bad field. */
export function toFilter(input: unknown, argument = 'filter'): JobFilter {
  return parseJobFilter(input, argument);
}
