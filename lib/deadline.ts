/**
 * Runs a user callback with a deadline (issue [9]: a hung `hmacFetcher` or `bucketCredsFetcher`
 * held requests until the client gave up). On timeout the promise rejects with `onTimeout()`;
 * the callback keeps running but its late answer is ignored.
 */
export async function withDeadline<T>(run: () => T | Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), timeoutMs);
  });
  try {
    // Promise.resolve().then(run): a synchronous throw becomes a rejection.
    return await Promise.race([Promise.resolve().then(run), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
