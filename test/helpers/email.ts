import type { EmailMessage, EmailTransport } from '../../src/jobs/types/send-email.js';

/** A real transport implementation that keeps what it was asked to send, for assertions. */
export function memoryTransport(): EmailTransport & { sent: EmailMessage[] } {
  const sent: EmailMessage[] = [];
  return {
    sent,
    async send(message) {
      sent.push(message);
      return { messageId: `mem-${sent.length}` };
    },
  };
}
