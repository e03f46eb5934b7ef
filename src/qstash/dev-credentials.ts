/**
 * The fixed development credentials that `qstash dev` prints and that `@upstash/qstash`
 * hard-codes as its dev-mode defaults (see QSTASH.md). Public values: never accept them in
 * production.
 */

/** Bearer token of the local QStash dev server. */
export const DEV_QSTASH_TOKEN = 'eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0=';

/** Signing key the dev server signs deliveries with. */
export const DEV_CURRENT_SIGNING_KEY = 'sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r';

/** Signing key receivers fall back to during key rotation. */
export const DEV_NEXT_SIGNING_KEY = 'sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs';
