import type { Actor } from '../jobs/actor.js';
import { builder } from './builder.js';
import type { ApiScope } from './context.js';

interface Viewer {
  scope: ApiScope;
  actor: Actor;
}

const ApiRoleEnum = builder.enumType('ApiRole', {
  values: {
    READ: { value: 'read', description: 'Queries and subscriptions.' },
    OPERATE: { value: 'operate', description: 'Also mutations (JOBSCOPE_OPERATE_KEYS, or no keys configured).' },
  } as const,
});

const ViewerRef = builder.objectRef<Viewer>('Viewer').implement({
  description: 'The caller, as its API key identifies it: what a client may offer (the dashboard hides actions from a READ key).',
  fields: (t) => ({
    role: t.expose('scope', { type: ApiRoleEnum }),
    name: t.string({
      nullable: true,
      description: "The API key's name (the actor in the logs and the audit log); null when the API is open (no keys configured).",
      resolve: ({ actor }) => (actor.kind === 'api-key' ? actor.name : null),
    }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    description: 'Who is calling and what their API key allows.',
    // useApiKeys refuses a request without a valid key before it runs, so the scope is known here.
    resolve: (_root, _args, ctx) => ({ scope: ctx.scope ?? 'read', actor: ctx.actor }),
  }),
);
