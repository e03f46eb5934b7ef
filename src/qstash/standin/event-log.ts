/** The message event log (`GET /v2/events`): every state a message passes through, bounded. */
import { type Filterable, matchesFilters, paginate } from './paging.js';
import type { LiveMessage, MessageState } from './types.js';
import { messageHeaderRecord, toBase64 } from './wire.js';

const MAX_EVENTS = 10_000;

interface LogEvent extends Filterable {
  seq: number;
  state: MessageState;
  payload: Record<string, unknown>;
}

export interface EventLog {
  record(message: LiveMessage, state: MessageState, extra?: Record<string, unknown>): void;
  /** A newest-first page of the events matching the Client's query parameters. */
  list(query: URLSearchParams): { events: Array<Record<string, unknown>>; cursor: string | undefined };
}

export function createEventLog(): EventLog {
  const events: LogEvent[] = [];
  let sequence = 0;
  return {
    record(message, state, extra = {}) {
      const time = Date.now();
      const { spec } = message;
      events.push({
        seq: ++sequence,
        time,
        messageId: message.id,
        state,
        url: spec.url,
        labels: spec.labels,
        scheduleId: spec.scheduleId,
        queueName: spec.queueName,
        payload: {
          time,
          state,
          messageId: message.id,
          url: spec.url,
          header: messageHeaderRecord(spec),
          body: toBase64(spec.body),
          ...(spec.labels.length === 0 ? {} : { label: spec.labels[0], labels: spec.labels }),
          ...(spec.scheduleId === undefined ? {} : { scheduleId: spec.scheduleId }),
          ...(spec.queueName === undefined ? {} : { queueName: spec.queueName }),
          ...extra,
        },
      });
      if (events.length > MAX_EVENTS) events.splice(0, events.length - MAX_EVENTS);
    },
    list(query) {
      const messageIds = query.getAll('messageIds');
      const matching = events.filter((event) => (messageIds.length === 0 || messageIds.includes(event.messageId)) && matchesFilters(event, query));
      const { page, cursor } = paginate(matching, query);
      return { events: page.map((event) => event.payload), cursor };
    },
  };
}
