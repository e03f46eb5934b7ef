// The limit for bench/deliveries.ts: a bare node:http endpoint that verifies the QStash signature
// with the real Receiver and records the run as the least a recorder may: the attempt and the
// `processing` state committed before the handler runs (so a crash mid-run is visible), the
// outcome committed before the 200 (so nothing is acknowledged that was not recorded).
import { createServer } from 'node:http';
import { Receiver } from '@upstash/qstash';
import postgres from 'postgres';

const sql = postgres(process.env.DATABASE_URL, { max: 10, onnotice: () => {} });
const receiver = new Receiver({ currentSigningKey: process.env.QSTASH_CURRENT_SIGNING_KEY, nextSigningKey: process.env.QSTASH_NEXT_SIGNING_KEY });
const base = process.env.BASE_URL;

const server = createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  try {
    await receiver.verify({ signature: req.headers['upstash-signature'], body, url: base + req.url });
  } catch {
    return res.writeHead(401).end('{"error":"Invalid QStash signature"}');
  }
  try {
    const envelope = JSON.parse(body);
    const messageId = req.headers['upstash-message-id'];
    const retried = Number(req.headers['upstash-retried'] ?? 0);
    const attemptId = await sql.begin(async (tx) => {
      await tx`INSERT INTO job_executions (job_id, job_type, status, payload, message_id, started_at)
        VALUES (${envelope.jobId}, ${envelope.type}, 'processing', ${tx.json(envelope)}, ${messageId}, now()) ON CONFLICT (job_id) DO NOTHING`;
      const [attempt] = await tx`INSERT INTO job_attempts (job_id, attempt, message_id) VALUES (${envelope.jobId}, ${retried}, ${messageId}) RETURNING id`;
      return attempt.id;
    });
    const result = { messageId: `email-${envelope.jobId}` };
    await sql.begin(async (tx) => {
      await tx`UPDATE job_attempts SET finished_at = now(), duration_ms = 0, http_status = 200 WHERE id = ${attemptId}`;
      await tx`UPDATE job_executions SET status = 'completed', result = ${tx.json(result)}, completed_at = now(), updated_at = now() WHERE job_id = ${envelope.jobId}`;
    });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'completed', jobId: envelope.jobId }));
  } catch (error) {
    res.writeHead(500).end(String(error));
  }
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => { server.close(); sql.end().then(() => process.exit(0)); });
