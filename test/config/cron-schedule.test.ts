import { describe, expect, it } from "vitest";
import {
  type CronSchedule,
  everFires,
  firstCommonRun,
  parseCron,
} from "../../components/config/cron-schedule";

function schedule(text: string): CronSchedule {
  const parsed = parseCron(text);
  if ("problem" in parsed) throw new Error(`${text}: ${parsed.problem}`);
  return parsed.schedule;
}

function problem(text: string): string {
  const parsed = parseCron(text);
  if ("schedule" in parsed) throw new Error(`${text} was accepted`);
  return parsed.problem;
}

describe("cron schedules, field by field", () => {
  it("reads numbers, names, ranges, steps and lists as both schedulers do", () => {
    const parsed = schedule("*/15 1,13 1-7 JAN-MAR mon-fri");
    expect([...parsed.minutes]).toEqual([0, 15, 30, 45]);
    expect([...parsed.hours]).toEqual([1, 13]);
    expect([...parsed.daysOfMonth]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect([...parsed.months]).toEqual([1, 2, 3]);
    expect([...parsed.daysOfWeek]).toEqual([1, 2, 3, 4, 5]);
  });

  it("reads 7 as Sunday", () => {
    expect([...schedule("0 1 * * 7").daysOfWeek]).toEqual([0]);
  });

  it.each([
    ["60 1 * * 0", 'the minute field (field 1) is "60": "60" is out of range: minutes are 0 to 59'],
    [
      "0 1 0 * *",
      'the day-of-month field (field 3) is "0": "0" is out of range: days of the month are 1 to 31',
    ],
    [
      "0 1 * FOO *",
      'the month field (field 4) is "FOO": "FOO" is not a month (L, W and # are not accepted by both schedulers): months are 1 to 12 or JAN-DEC',
    ],
    ["0 1 * * 5-2", 'the day-of-week field (field 5) is "5-2": the range 5-2 runs backwards'],
    ["*/0 1 * * *", 'the minute field (field 1) is "*/0": a step of 0'],
    ["0 1 L * *", 'the day-of-month field (field 3) is "L": "L" is not a day-of-month'],
    ["0 1 * * 1#2", 'the day-of-week field (field 5) is "1#2": not a cron field'],
    ["0 1 * *", "has 4 fields; a schedule has 5"],
  ])("refuses %s naming the field: %s", (text, expected) => {
    expect(problem(text)).toContain(expected);
  });

  it("finds the first minute two schedules share, or none", () => {
    expect(firstCommonRun(schedule("0 1 * * 0"), schedule("0 1 * * 1-6"))).toBeUndefined();
    expect(firstCommonRun(schedule("0 1 * * 0"), schedule("0 2 * * *"))).toBeUndefined();
    // 2028-01-02 is a Sunday.
    expect(firstCommonRun(schedule("0 1 * * 0"), schedule("0 1 * * 7"))?.toISOString()).toBe(
      "2028-01-02T01:00:00.000Z",
    );
    // Day of month and day of week both restricted: cron fires on either (the 1st, or any Monday).
    expect(firstCommonRun(schedule("30 4 1 * 1"), schedule("30 4 * * 1-5"))?.toISOString()).toBe(
      "2028-01-03T04:30:00.000Z",
    );
  });

  it("knows a schedule that never fires", () => {
    expect(everFires(schedule("0 0 31 2 *"))).toBe(false);
    expect(everFires(schedule("0 0 29 2 *"))).toBe(true);
    expect(everFires(schedule("0 0 31 * *"))).toBe(true);
  });
});
