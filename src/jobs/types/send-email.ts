import { z } from 'zod';
import type { Logger } from '../../logger.js';
import { defineJob } from '../registry.js';

/**
 * zod's own email pattern (`z.regexes.email`), except that a domain label may not end in `-`
 * (`ada@example-.com`): zod lets that through and `format: email` (ajv-formats), which the
 * published schema also names, does not. The pattern is published as it is, so a client's
 * validator and ours agree.
 */
const Email = z.email({
  pattern: /^(?:[A-Za-z0-9_'+\-]+\.)*[A-Za-z0-9_'+\-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$/,
});

const EmailFields = z.object({
  to: z.union([Email, z.array(Email).min(1).max(50)]),
  subject: z.string().min(1).max(998),
  text: z.string().optional(),
  html: z.string().optional(),
  from: Email.optional(),
  replyTo: Email.optional(),
});

/**
 * A body is required, as text, HTML or both. Written as a union rather than a `.refine` so that
 * the published JSON Schema carries the rule too (`anyOf`): a payload valid by `payloadSchema`
 * is one enqueueJob accepts.
 */
const EmailBody = z.union([z.object({ text: z.string() }), z.object({ html: z.string() })], {
  error: 'either text or html is required',
});

export const SendEmailJobPayloadSchema = z.intersection(EmailFields, EmailBody);

export type SendEmailJobPayload = z.infer<typeof SendEmailJobPayloadSchema>;

export interface EmailMessage {
  from: string;
  to: string[];
  subject: string;
  text?: string | undefined;
  html?: string | undefined;
  replyTo?: string | undefined;
}

/** Where mail goes: an SMTP or provider client in production, the log in development. */
export interface EmailTransport {
  /** `logger` is the job's own (`jobId`, `jobType` attached). */
  send(message: EmailMessage, options: { signal: AbortSignal; logger: Logger }): Promise<{ messageId: string }>;
}

/** Development transport: writes the message to the log instead of sending it. */
export function logEmailTransport(): EmailTransport {
  let sent = 0;
  return {
    async send(message, { logger }) {
      sent += 1;
      const messageId = `dev-${Date.now()}-${sent}`;
      logger.info('[email] Development transport: message not sent, logged instead', {
        messageId,
        from: message.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
      });
      return { messageId };
    },
  };
}

export const DEFAULT_FROM = 'jobscope <no-reply@jobscope.local>';

/** `send-email`: delivers one message through the given transport. */
export function sendEmailJob(transport: EmailTransport) {
  return defineJob({
    type: 'send-email',
    endpoint: '/api/jobs/email',
    description: 'Sends one email through the configured transport.',
    schema: SendEmailJobPayloadSchema,
    timeoutSeconds: 30,
    retries: 3,
    async handler(payload, _job, { signal, logger }) {
      const { messageId } = await transport.send(
        {
          from: payload.from ?? DEFAULT_FROM,
          to: Array.isArray(payload.to) ? payload.to : [payload.to],
          subject: payload.subject,
          text: payload.text,
          html: payload.html,
          replyTo: payload.replyTo,
        },
        { signal, logger },
      );
      return { messageId };
    },
  });
}
