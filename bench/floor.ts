import { useGraphQlJit } from '@envelop/graphql-jit';
import { createYoga, type Plugin } from 'graphql-yoga';
import { Registry } from 'prom-client';
import { loadConfig } from '../src/config/index.js';
import { ApiKeys, useApiKeys } from '../src/graphql/auth.js';
import { useOperationLimits } from '../src/graphql/limits.js';
import { schema } from '../src/graphql/schema.js';
import { createGraphQLServer, operationMetrics } from '../src/graphql/server.js';
import type { Jobs } from '../src/jobs/index.js';
import type { Alerts } from '../src/jobs/alerts/index.js';
import { silentLogger } from '../src/logger.js';

const KEY = 'floor-bench-read-key-0123456789';
const BODY = JSON.stringify({ query: '{ __typename }' });

/** CPU per request (µs) of `fetch` answering { __typename } in-process, after a warm-up. */
async function cpuPerRequest(fetch: (request: Request) => Response | Promise<Response>, n: number): Promise<number> {
  const request = () =>
    new Request('http://localhost/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` }, body: BODY });
  for (let i = 0; i < 1000; i++) await (await fetch(request())).text();
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const res = await fetch(request());
    if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
    await res.text();
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

/**
 * The framework floor, split: { __typename } through Yoga alone, then with each of jobscope's
 * plugins added in turn, then jobscope's own server as it runs (in-process `fetch`, no sockets:
 * what is measured is the GraphQL layer; the HTTP server and the network are the same for all).
 */
export async function benchFloor(): Promise<void> {
  const n = Number(process.env.BENCH_FLOOR_REQUESTS ?? 5000);
  const config = loadConfig({ NODE_ENV: 'test', LOG_DIR: 'off', JOBSCOPE_READ_KEYS: `bench:${KEY}` });
  const keys = new ApiKeys(config.apiKeys);
  const limits = useOperationLimits(config.graphqlLimits, { production: true });
  const yoga = (plugins: Plugin[]) => {
    const server = createYoga({
      schema,
      logging: false,
      graphiql: false,
      landingPage: false,
      plugins,
      context: ({ request }) => ({ scope: keys.identifyRequest(request)?.scope }),
    });
    return (request: Request) => server.fetch(request);
  };
  const auth = useApiKeys(keys) as Plugin;
  const jobscope = createGraphQLServer({
    jobs: {} as Jobs,
    alerts: {} as Alerts,
    systemCheck: () => Promise.reject(new Error('not in this bench')),
    config,
    logger: silentLogger(),
    endpoint: '/graphql',
    metricsRegistry: new Registry(),
  });
  const variants: [string, (request: Request) => Response | Promise<Response>][] = [
    ['Yoga alone (the baseline)', yoga([])],
    ['+ graphql-armor limits', yoga([limits])],
    ['+ API keys', yoga([limits, auth])],
    ['+ graphql-jit', yoga([limits, auth, useGraphQlJit() as Plugin])],
    ['+ operation metrics (prometheus, jobscope\'s selection)', yoga([limits, auth, useGraphQlJit() as Plugin, operationMetrics(new Registry())])],
    ["jobscope's GraphQL server (+ error masking, logging)", (request) => jobscope.fetch(request)],
  ];
  // Three passes in alternation; the lower of each counts (the machine's slow moments hit all alike).
  const best = new Map<string, number>();
  for (let pass = 0; pass < 3; pass++) {
    for (const [name, fetch] of variants) best.set(name, Math.min(best.get(name) ?? Infinity, await cpuPerRequest(fetch, n)));
  }
  const base = best.get(variants[0]![0])!;
  let previous = base;
  console.log(`\n## The framework floor: { __typename } in-process, CPU µs per request (${n} requests, best of 3 passes)`);
  console.table(
    variants.map(([name]) => {
      const us = best.get(name)!;
      const row = { case: name, 'µs/request': us.toFixed(0), 'added µs': (us - previous).toFixed(0), '× Yoga alone': (us / base).toFixed(2) };
      previous = us;
      return row;
    }),
  );
}
