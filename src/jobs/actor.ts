/**
 * Who asked for a command: an API key's holder, the CLI, jobscope itself, or the embedding app's
 * own code. Every command of the jobs facade takes one, so the logs (and the audit log to come)
 * say who retried, cancelled or enqueued what, whichever surface it came through.
 */
export type Actor =
  | { kind: 'api-key'; name: string }
  /** No API keys are configured (open development mode): the caller is unknown. */
  | { kind: 'anonymous' }
  | { kind: 'cli' }
  | { kind: 'system'; name?: string }
  /** Code of the app jobscope is mounted in (`jobscope.enqueue(…)`), the default. */
  | { kind: 'app'; name?: string };

export const APP_ACTOR: Actor = Object.freeze({ kind: 'app' });

/** `api-key:grafana`, `cli`, `system:alerts`, `app`: how an actor appears in log lines. */
export function actorLabel(actor: Actor): string {
  return 'name' in actor && actor.name ? `${actor.kind}:${actor.name}` : actor.kind;
}
