/**
 * Runs a target call under the context's AbortSignal. When the signal fires, `cancel` tears the
 * connection down (so the driver's pending calls fail and release their socket) and the call
 * rejects at once with the error `onAbort` makes, whatever the driver is still doing.
 *
 * @example
 * ```ts
 * await abortable(ctx.signal, () => client.destroy(), () => targetError('KT_TARGET_UNAVAILABLE', ...), () => client.query('SELECT 1'));
 * ```
 */
export async function abortable<T>(signal: AbortSignal, cancel: () => void, onAbort: () => Error, run: () => Promise<T>): Promise<T> {
  if (signal.aborted) {
    cancel();
    throw onAbort();
  }
  let stopListening = (): void => undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    const listener = (): void => {
      cancel();
      reject(onAbort());
    };
    signal.addEventListener('abort', listener, { once: true });
    stopListening = () => signal.removeEventListener('abort', listener);
  });
  const work = run();
  // When the abort wins the race, the work still settles later: keep that rejection handled.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, aborted]);
  } finally {
    stopListening();
  }
}
