import { formatAmzDate, parseAmzDate } from '../../../lib/sigv4/amz-date';

describe('parseAmzDate', () => {
  it('parses YYYYMMDDTHHMMSSZ strictly, the same answer however calls alternate (it remembers the last date)', () => {
    const cases: [string, number | undefined][] = [
      ['20261130T212543Z', Date.UTC(2026, 10, 30, 21, 25, 43)],
      ['20260230T000000Z', undefined], // Feb 30
      ['20261130T212543', undefined],
      ['20261130T246000Z', undefined],
      ['2026113OT212543Z', undefined],
      ['20240229T235959Z', Date.UTC(2024, 1, 29, 23, 59, 59)],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [input, expected] of cases) {
        expect(parseAmzDate(input)).toBe(expected);
        expect(parseAmzDate(input)).toBe(expected);
      }
    }
  });

  it('round-trips with formatAmzDate', () => {
    const d = new Date(Date.UTC(2030, 0, 2, 3, 4, 5));
    expect(formatAmzDate(d)).toBe('20300102T030405Z');
    expect(parseAmzDate(formatAmzDate(d))).toBe(d.getTime());
  });
});
