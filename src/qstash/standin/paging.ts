/** Cursor paging and the filter query parameters the Client sends to the list endpoints. */

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
/** Filters the real API knows but that never match here (no URL groups, flow control…). */
const UNSUPPORTED_FILTERS = ['topicName', 'urlGroup', 'flowControlKey', 'callerIp', 'api', 'endpointName', 'workflowRunId'];

function pageSize(query: URLSearchParams): number {
  const count = Number(query.get('count') ?? DEFAULT_PAGE_SIZE);
  return Number.isInteger(count) && count > 0 ? Math.min(count, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
}

/**
 * A page of `items` (each with a growing `seq`), newest first (`order=earliestFirst` turns it
 * round), continuing past `cursor`.
 */
export function paginate<T extends { seq: number }>(items: T[], query: URLSearchParams): { page: T[]; cursor: string | undefined } {
  const earliestFirst = query.get('order') === 'earliestFirst';
  const cursorText = query.get('cursor');
  const cursor = cursorText === null || cursorText === '' ? Number.NaN : Number(cursorText);
  const after = Number.isFinite(cursor) ? items.filter((item) => (earliestFirst ? item.seq > cursor : item.seq < cursor)) : items;
  const sorted = after.sort((a, b) => (earliestFirst ? a.seq - b.seq : b.seq - a.seq));
  const size = pageSize(query);
  const page = sorted.slice(0, size);
  const last = page.at(-1);
  return { page, cursor: sorted.length > size && last ? String(last.seq) : undefined };
}

/** What the filters look at in an event, a DLQ entry or a live message. */
export interface Filterable {
  messageId: string;
  url: string;
  labels: string[];
  time: number;
  state?: string;
  responseStatus?: number;
  scheduleId?: string | undefined;
  queueName?: string | undefined;
}

/** Whether an item matches the filter query parameters the Client sends (values OR, fields AND). */
export function matchesFilters(item: Filterable, query: URLSearchParams): boolean {
  for (const key of UNSUPPORTED_FILTERS) if (query.has(key)) return false;
  const anyOf = (key: string, value: string | undefined): boolean => {
    const wanted = query.getAll(key);
    return wanted.length === 0 || (value !== undefined && wanted.includes(value));
  };
  if (!anyOf('messageId', item.messageId) || !anyOf('url', item.url) || !anyOf('state', item.state)) return false;
  if (!anyOf('scheduleId', item.scheduleId) || !anyOf('queueName', item.queueName)) return false;
  if (!anyOf('responseStatus', item.responseStatus === undefined ? undefined : String(item.responseStatus))) return false;
  const labels = query.getAll('label');
  if (labels.length > 0 && !labels.some((label) => item.labels.includes(label))) return false;
  const from = query.get('fromDate');
  if (from !== null && item.time < Number(from)) return false;
  const to = query.get('toDate');
  if (to !== null && item.time > Number(to)) return false;
  return true;
}
