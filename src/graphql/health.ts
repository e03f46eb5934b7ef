import { builder } from './builder.js';

// Placeholder field so the frame builds; replaced by the real schema modules.
builder.queryField('ping', (t) => t.string({ resolve: () => 'pong' }));
builder.mutationField('noop', (t) => t.boolean({ resolve: () => true }));
builder.subscriptionField('tick', (t) =>
  t.int({
    subscribe: async function* () {
      yield 1;
    },
    resolve: (n: number) => n,
  }),
);
