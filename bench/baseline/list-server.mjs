// The limit for the list cases of bench/list.ts: a bare node:http + postgres.js server answering
// the same SQL a hand-written endpoint would run, in the same JSON shape jobscope answers with.
// It reads and parses the request body like a GraphQL server must, and does nothing else.
import { createServer } from 'node:http';
import postgres from 'postgres';

const sql = postgres(process.env.DATABASE_URL, { max: 10, onnotice: () => {} });
const iso = (d) => (d === null ? null : d.toISOString());

const CASES = {
  // jobExecutions(filter: {status: [FAILED]}, first: 50) { nodes { jobId jobType status retryCount error createdAt } }
  failed: async () => {
    const rows = await sql`SELECT job_id, job_type, status, retry_count, error, created_at FROM job_executions
      WHERE status = 'failed' ORDER BY created_at DESC, job_id DESC LIMIT 51`;
    return rows.slice(0, 50).map(node);
  },
  // The same with every attempt: { attempt httpStatus durationSeconds error }
  attempts: async () => {
    const rows = (await sql`SELECT job_id, job_type, status, retry_count, error, created_at FROM job_executions
      WHERE status = 'failed' ORDER BY created_at DESC, job_id DESC LIMIT 51`).slice(0, 50);
    const attempts = await sql`SELECT job_id, attempt, http_status, duration_ms, error FROM job_attempts
      WHERE job_id = ANY(${rows.map((r) => r.job_id)}) ORDER BY id`;
    const byJob = new Map(rows.map((r) => [r.job_id, []]));
    for (const a of attempts) {
      byJob.get(a.job_id).push({ attempt: a.attempt, httpStatus: a.http_status, durationSeconds: a.duration_ms === null ? null : a.duration_ms / 1000, error: a.error });
    }
    return rows.map((r) => ({ ...node(r), attempts: byJob.get(r.job_id) }));
  },
};

function node(r) {
  return { jobId: r.job_id, jobType: r.job_type, status: r.status.toUpperCase(), retryCount: r.retry_count, error: r.error, createdAt: iso(r.created_at) };
}

const server = createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  try {
    JSON.parse(body);
    const run = CASES[new URL(req.url, 'http://x').searchParams.get('case')];
    if (!run) return res.writeHead(404).end();
    const nodes = await run();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { jobExecutions: { nodes } } }));
  } catch (error) {
    res.writeHead(500).end(String(error));
  }
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('listening'));
process.on('SIGTERM', () => { server.close(); sql.end().then(() => process.exit(0)); });
