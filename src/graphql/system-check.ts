import { CHECK_GROUPS, type CheckGroup, type CheckItem, type SystemCheck } from '../checks/system-check.js';
import { builder } from './builder.js';

const CheckStatusEnum = builder.enumType('CheckStatus', {
  values: {
    PASS: { value: 'PASS' },
    WARN: { value: 'WARN', description: 'Works, but something needs a look.' },
    FAIL: { value: 'FAIL', description: 'Broken: the fix says what to do.' },
  } as const,
});

const CheckGroupIdEnum = builder.enumType('CheckGroupId', {
  values: Object.fromEntries(CHECK_GROUPS.map((group) => [group.id, { value: group.id, description: `The guide's "${group.title}".` }])) as Record<
    CheckGroup['id'],
    { value: CheckGroup['id']; description: string }
  >,
});

const CheckItemRef = builder.objectRef<CheckItem>('CheckItem').implement({
  fields: (t) => ({
    name: t.exposeString('name', { description: 'e.g. `qstash-reachable`, `endpoint:send-email`, `failure-rate:send-email`.' }),
    status: t.field({ type: CheckStatusEnum, resolve: (item) => item.status }),
    detail: t.exposeString('detail', { description: 'What was found, measured on this deployment.' }),
    fix: t.exposeString('fix', { nullable: true, description: 'What to do; null on a PASS.' }),
  }),
});

const CheckGroupRef = builder.objectRef<CheckGroup>('CheckGroup').implement({
  fields: (t) => ({
    id: t.field({ type: CheckGroupIdEnum, resolve: (group) => group.id }),
    title: t.exposeString('title'),
    status: t.field({ type: CheckStatusEnum, resolve: (group) => group.status, description: "Its worst item's." }),
    items: t.field({ type: [CheckItemRef], resolve: (group) => group.items }),
  }),
});

const SystemCheckRef = builder.objectRef<SystemCheck>('SystemCheck').implement({
  description: "The operations guide's troubleshooting checklist, measured on this deployment.",
  fields: (t) => ({
    status: t.field({ type: CheckStatusEnum, resolve: (check) => check.status, description: "The worst item's." }),
    checkedAt: t.expose('checkedAt', { type: 'DateTime' }),
    durationMs: t.exposeFloat('durationMs'),
    groups: t.field({ type: [CheckGroupRef], resolve: (check) => check.groups }),
  }),
});

builder.queryField('systemCheck', (t) =>
  t.field({
    type: SystemCheckRef,
    description:
      "The guide's troubleshooting checklist (job not enqueueing, not processing, high failure rate, poor performance): configuration, a timed QStash call, " +
      'a signed probe of each worker endpoint through the URL QStash calls, and the job tables over the health window. Also `GET /health/checks` (503 on a FAIL).',
    resolve: (_root, _args, ctx) => ctx.systemCheck(),
  }),
);
