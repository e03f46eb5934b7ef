/**
 * The bus's iterator waits for the next event inside the generator, where a plain `return()` from
 * Yoga would queue behind that wait; the subscription ends through the signal instead, on
 * `return()` or when the client's request goes away.
 */
export function untilClosed<T>(ctx: { request?: Request }, open: (signal: AbortSignal) => AsyncGenerator<T>): AsyncIterableIterator<T> {
  const controller = new AbortController();
  const requestSignal = ctx.request?.signal;
  const onRequestAbort = () => controller.abort();
  requestSignal?.addEventListener('abort', onRequestAbort, { once: true });
  const events = open(controller.signal);
  const close = async () => {
    requestSignal?.removeEventListener('abort', onRequestAbort);
    controller.abort();
    return events.return(undefined);
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next: () => events.next(),
    return: close,
    throw: async (error: unknown) => {
      await close();
      throw error;
    },
  };
}
