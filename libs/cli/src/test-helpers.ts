// Helpers for this package's tests (not exported from the index).

/** What `fn` throws, or undefined if it returns. */
export function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
