import type { GraphQLErrorShape } from './client.js';
import { json } from './format.js';

export function ErrorNote({ error }: { error: Error }) {
  return (
    <p class="error" role="alert">
      {error.message}
    </p>
  );
}

/** Fields that failed in an otherwise answered query (e.g. QStash unreachable for the queue columns). */
export function FieldErrors({ errors }: { errors: GraphQLErrorShape[] }) {
  if (errors.length === 0) return null;
  return (
    <ul class="error" role="status">
      {errors.map((e) => (
        <li>
          {e.path?.join('.') ?? 'request'}: {e.message}
        </li>
      ))}
    </ul>
  );
}

export function Status({ status }: { status: string }) {
  return <span class={`status s-${status.toLowerCase()}`}>{status}</span>;
}

export function Json({ value, label }: { value: unknown; label: string }) {
  if (value === null || value === undefined) return <p class="muted">No {label.toLowerCase()}.</p>;
  return (
    <pre class="json" tabIndex={0} aria-label={label}>
      {json(value)}
    </pre>
  );
}
