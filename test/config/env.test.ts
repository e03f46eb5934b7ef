import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/index.js';
import { DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY, DEV_QSTASH_TOKEN } from '../../src/qstash/dev-credentials.js';

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
};

const production = {
  NODE_ENV: 'production',
  BASE_URL: 'https://jobs.example.com',
  QSTASH_TOKEN: 'real-token',
  QSTASH_CURRENT_SIGNING_KEY: 'sig_realCurrentKey',
  QSTASH_NEXT_SIGNING_KEY: 'sig_realNextKey',
  JOBSCOPE_OPERATE_KEYS: 'k1',
};

describe('config', () => {
  it('needs nothing in development: PGlite, the local stand-in, port 4000, dev keys', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: 'development',
      port: 4000,
      database: { kind: 'pglite', dataDir: '.data/pglite' },
      qstash: { kind: 'local', basePath: '/qstash', token: DEV_QSTASH_TOKEN },
      signingKeys: { current: DEV_CURRENT_SIGNING_KEY, next: DEV_NEXT_SIGNING_KEY },
      log: { format: 'pretty', dir: 'logs' },
    });
  });

  it('switches to PostgreSQL and the real QStash by environment', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u@db:5432/jobs',
      QSTASH_TOKEN: 't',
      QSTASH_CURRENT_SIGNING_KEY: 'sig_a',
      QSTASH_NEXT_SIGNING_KEY: 'sig_b',
      BASE_URL: 'https://jobs.example.com/',
      PORT: '8081',
      JOBSCOPE_READ_KEYS: ' r1, r2 ,',
    });
    expect(config).toMatchObject({
      port: 8081,
      baseUrl: 'https://jobs.example.com',
      database: { kind: 'postgres', url: 'postgres://u@db:5432/jobs' },
      qstash: { kind: 'remote', token: 't' },
      signingKeys: { current: 'sig_a', next: 'sig_b' },
      apiKeys: { read: [{ name: expect.stringMatching(/^key#[0-9a-f]{4}$/), key: 'r1' }, { name: expect.stringMatching(/^key#/), key: 'r2' }], operate: [] },
    });
  });

  it('takes the heartbeat and the reaper from the environment, with defaults of 5 s × 3 misses and a pass every 15 s', () => {
    expect(loadConfig({})).toMatchObject({ heartbeat: { intervalSeconds: 5, misses: 3 }, reaper: { intervalSeconds: 15 } });
    expect(
      loadConfig({ JOBSCOPE_HEARTBEAT_SECONDS: '0.5', JOBSCOPE_HEARTBEAT_MISSES: '4', JOBSCOPE_REAPER_INTERVAL_SECONDS: '0' }),
    ).toMatchObject({ heartbeat: { intervalSeconds: 0.5, misses: 4 }, reaper: { intervalSeconds: 0 } });
    const problems = () => {
      try {
        loadConfig({ JOBSCOPE_HEARTBEAT_SECONDS: '0', JOBSCOPE_HEARTBEAT_MISSES: '1' });
      } catch (error) {
        return (error as ConfigError).problems.map((p) => p.split(':')[0]);
      }
      return [];
    };
    expect(problems()).toEqual(['JOBSCOPE_HEARTBEAT_SECONDS', 'JOBSCOPE_HEARTBEAT_MISSES']);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '  ' }).database.kind).toBe('pglite');
  });

  it('names every bad variable in one error', () => {
    const found = problems({ PORT: 'abc', BASE_URL: 'not a url', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' });
    expect(found.map((p) => p.split(':')[0])).toEqual(['PORT', 'BASE_URL', 'DATABASE_URL', 'LOG_LEVEL']);
  });

  it('requires the signing keys with a QStash token', () => {
    expect(problems({ QSTASH_TOKEN: 't' })).toEqual([expect.stringMatching(/^QSTASH_CURRENT_SIGNING_KEY/)]);
  });

  it('starts in production with real credentials, JSON logs', () => {
    expect(loadConfig(production).log.format).toBe('json');
  });

  it('refuses the public dev credentials in production', () => {
    const found = problems({
      ...production,
      QSTASH_TOKEN: DEV_QSTASH_TOKEN,
      QSTASH_CURRENT_SIGNING_KEY: DEV_CURRENT_SIGNING_KEY,
      QSTASH_NEXT_SIGNING_KEY: DEV_NEXT_SIGNING_KEY,
    });
    expect(found).toHaveLength(3);
    expect(found.join('\n')).toMatch(/development token is refused/);
  });

  it('refuses production without signing keys, QStash token, base URL or API keys', () => {
    const found = problems({ NODE_ENV: 'production' });
    expect(found.map((p) => p.split(':')[0])).toEqual([
      'QSTASH_TOKEN (qstash.token)',
      'QSTASH_CURRENT_SIGNING_KEY (qstash.currentSigningKey)',
      'QSTASH_NEXT_SIGNING_KEY (qstash.nextSigningKey)',
      'BASE_URL (baseUrl)',
      'JOBSCOPE_READ_KEYS / JOBSCOPE_OPERATE_KEYS (apiKeys)',
    ]);
  });
});

describe('config file options under the environment', () => {
  const fromFile = (options: Record<string, unknown>, env: Record<string, string> = {}) =>
    loadConfig(env, { options, label: 'jobscope.config.ts' });

  it('takes every option from the file, nested as defineConfig writes it', () => {
    const config = fromFile({
      port: 4100,
      basePath: '/jobscope/',
      database: { url: 'postgres://db/jobs', schema: 'jobscope' },
      apiKeys: { read: ['r-key'], operate: [{ name: 'deploy-bot', key: 'o-key' }] },
      policy: { stuckAfterMinutes: 30 },
      log: { dir: false },
    });
    expect(config).toMatchObject({
      port: 4100,
      basePath: '/jobscope',
      database: { kind: 'postgres', url: 'postgres://db/jobs', schema: 'jobscope' },
      apiKeys: { read: [{ key: 'r-key', name: expect.stringMatching(/^key#/) }], operate: [{ name: 'deploy-bot', key: 'o-key' }] },
      policy: { stuckAfterMinutes: 30, healthWindowMinutes: 60, failureRateThreshold: 0.05 },
      log: { dir: undefined },
    });
  });

  it('lets the environment override deployment parameters, and names keys written name:key', () => {
    const config = fromFile(
      { port: 4100, database: { pgliteDir: '/srv/jobs' }, apiKeys: { read: ['from-file'] } },
      { PORT: '8080', PGLITE_DIR: '/data/pg', JOBSCOPE_READ_KEYS: 'grafana:abc123,plainkey' },
    );
    expect(config.port).toBe(8080);
    expect(config.database).toEqual({ kind: 'pglite', dataDir: '/data/pg', schema: undefined });
    expect(config.apiKeys.read).toEqual([
      { name: 'grafana', key: 'abc123' },
      { name: expect.stringMatching(/^key#[0-9a-f]{4}$/), key: 'plainkey' },
    ]);
  });

  it("names a file's problems by option path and the file, the environment's by variable", () => {
    let error: unknown;
    try {
      fromFile({ port: 70000, qstash: { token: 't' }, alerts: { webhookUrl: 'ftp://x' }, basePath: 'no-slash' }, { ALERT_FAILURE_RATE: '2' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(/^jobscope\.config\.ts: port: /),
      expect.stringMatching(/^jobscope\.config\.ts: basePath: must be empty or a path like \/jobscope$/),
      expect.stringMatching(/^jobscope\.config\.ts: alerts\.webhookUrl: /),
      expect.stringMatching(/^ALERT_FAILURE_RATE: /),
    ]);
  });
});

describe('JOBSCOPE_ENV', () => {
  it("wins over NODE_ENV, which frameworks set for their own reasons (next start: production)", () => {
    expect(loadConfig({ NODE_ENV: 'production', JOBSCOPE_ENV: 'development' }).env).toBe('development');
    expect(loadConfig({ ...production, NODE_ENV: 'development', JOBSCOPE_ENV: 'production' }).env).toBe('production');
  });

  it('is the variable named when its value is bad', () => {
    expect(problems({ NODE_ENV: 'production', JOBSCOPE_ENV: 'staging' })).toEqual([expect.stringMatching(/^JOBSCOPE_ENV: /)]);
  });
});
