/**
 * The median round of an interleaved benchmark: the middle value of the rounds (the upper one of
 * the two middles for an even count), so that what is reported is a round that was measured.
 */
export function medianRound(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
}
