/**
 * `work`, or a rejection with `timeoutError()` once `ms` have passed without it settling. The
 * timer is cleared either way, so a settled call leaves nothing behind to keep the process up.
 */
export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  timeoutError: () => Error,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(timeoutError()), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
