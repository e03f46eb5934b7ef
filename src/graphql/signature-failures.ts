import type { SignatureFailure } from '../db/schema.js';
import { builder } from './builder.js';

const SignatureFailureRef = builder.objectRef<SignatureFailure>('SignatureFailure').implement({
  description: "A delivery the worker rejected with 401 because its signature did not verify: what was checked and why it failed (never the body or the token).",
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime' }),
    messageId: t.exposeString('messageId', { nullable: true, description: '`Upstash-Message-Id` as sent (unverified).' }),
    path: t.exposeString('path'),
    checkedUrl: t.exposeString('checkedUrl', { description: 'The URL the signature was checked against (BASE_URL + base path + path).' }),
    signedUrl: t.exposeString('signedUrl', { nullable: true, description: 'The URL the signature was made for, when the key verified but the URL did not (URL_MISMATCH).' }),
    reason: t.exposeString('reason', { description: 'MISSING_SIGNATURE, WRONG_KEY, EXPIRED, NOT_YET_VALID, URL_MISMATCH, BODY_HASH or MALFORMED.' }),
    detail: t.exposeString('detail', { nullable: true, description: "The verifier's words." }),
  }),
});

builder.queryField('signatureFailures', (t) =>
  t.field({
    type: [SignatureFailureRef],
    description: 'Deliveries rejected for their signature, newest first (kept 7 days, 10,000 at most). The guide: wrong signing keys, a BASE_URL mismatch, a stand-in restarted with new keys.',
    args: { since: t.arg({ type: 'DateTime' }), first: t.arg.int({ defaultValue: 50, description: '1–500.' }) },
    resolve: (_root, args, ctx) => ctx.jobs.read.signatureFailures({ since: args.since ?? undefined, first: args.first ?? undefined }),
  }),
);
