/**
 * Five-field cron schedules (minute hour day-of-month month day-of-week, UTC), read field by
 * field so an error names the field that is wrong. The grammar is what both schedulers pgstack
 * uses accept: Kubernetes CronJobs and supercronic in the dev runner. Numbers, month and weekday
 * names, `*`, ranges `a-b`, steps `/n` and lists `a,b`; nothing scheduler-specific (`L`, `W`, `#`).
 */

interface CronField {
  readonly name: string;
  /** Plural noun for the unit, as error messages use it. */
  readonly unit: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

export const CRON_FIELDS: readonly CronField[] = [
  { name: "minute", unit: "minutes", min: 0, max: 59 },
  { name: "hour", unit: "hours", min: 0, max: 23 },
  { name: "day-of-month", unit: "days of the month", min: 1, max: 31 },
  {
    name: "month",
    unit: "months",
    min: 1,
    max: 12,
    names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"],
  },
  // 7 is Sunday too, as in both schedulers.
  {
    name: "day-of-week",
    unit: "weekdays",
    min: 0,
    max: 7,
    names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
  },
];

export const CRON_FORM = "minute hour day-of-month month day-of-week, UTC";

/** A schedule expanded to the values each field matches. */
export interface CronSchedule {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0 = Sunday; a 7 in the expression is folded into 0. */
  readonly daysOfWeek: ReadonlySet<number>;
  /** Whether the day-of-month and day-of-week fields are restricted (not `*`): cron ORs them when both are. */
  readonly dayOfMonthRestricted: boolean;
  readonly dayOfWeekRestricted: boolean;
}

export type CronParse = { readonly schedule: CronSchedule } | { readonly problem: string };

/** Parses a schedule, or says which field is wrong and why. */
export function parseCron(text: string): CronParse {
  const fields = text
    .trim()
    .split(/\s+/)
    .filter((field) => field !== "");
  if (fields.length !== 5) {
    return {
      problem: `has ${fields.length} field${fields.length === 1 ? "" : "s"}; a schedule has 5 (${CRON_FORM})`,
    };
  }
  const sets: Set<number>[] = [];
  for (const [index, field] of CRON_FIELDS.entries()) {
    const parsed = parseField(fields[index], field);
    if (typeof parsed === "string") {
      return {
        problem: `the ${field.name} field (field ${index + 1}) is ${JSON.stringify(fields[index])}: ${parsed}`,
      };
    }
    sets.push(parsed);
  }
  const daysOfWeek = new Set([...sets[4]].map((day) => day % 7));
  return {
    schedule: {
      minutes: sets[0],
      hours: sets[1],
      daysOfMonth: sets[2],
      months: sets[3],
      daysOfWeek,
      dayOfMonthRestricted: fields[2] !== "*",
      dayOfWeekRestricted: fields[4] !== "*",
    },
  };
}

function parseField(text: string, field: CronField): Set<number> | string {
  const values = new Set<number>();
  const range = `${field.unit} are ${field.min} to ${field.max}${field.names ? ` or ${field.names[0]}-${field.names[field.names.length - 1]}` : ""}`;
  for (const item of text.split(",")) {
    const match = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d+))?$/.exec(item);
    if (!match) return `not a cron field; use numbers, *, a-b ranges, /n steps and commas (${range})`;
    const step = match[2] === undefined ? 1 : Number(match[2]);
    if (step < 1) return `a step of 0; a step is 1 or more`;
    let from = field.min;
    let to = field.max;
    if (match[1] !== "*") {
      const [first, last] = match[1].split("-");
      const start = fieldValue(first, field);
      const end = last === undefined ? (match[2] === undefined ? start : field.max) : fieldValue(last, field);
      if (start === undefined || end === undefined) {
        const wrong = start === undefined ? first : last;
        return /^\d+$/.test(wrong)
          ? `${JSON.stringify(wrong)} is out of range: ${range}`
          : `${JSON.stringify(wrong)} is not a ${field.name} (L, W and # are not accepted by both schedulers): ${range}`;
      }
      if (start > end) return `the range ${match[1]} runs backwards; write the smaller value first`;
      from = start;
      to = end;
    }
    for (let value = from; value <= to; value += step) values.add(value);
  }
  return values;
}

function fieldValue(text: string, field: CronField): number | undefined {
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    return value >= field.min && value <= field.max ? value : undefined;
  }
  const at = field.names?.indexOf(text.toUpperCase()) ?? -1;
  return at < 0 ? undefined : at + field.min;
}

/** Whether a schedule fires on a given UTC day (cron ORs day-of-month and day-of-week when both are restricted). */
function firesOn(schedule: CronSchedule, day: Date): boolean {
  if (!schedule.months.has(day.getUTCMonth() + 1)) return false;
  const dom = schedule.daysOfMonth.has(day.getUTCDate());
  const dow = schedule.daysOfWeek.has(day.getUTCDay());
  if (schedule.dayOfMonthRestricted && schedule.dayOfWeekRestricted) return dom || dow;
  return dom && dow;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The first UTC minute at which both schedules fire, within a full leap-year cycle from
 * 2028-01-01 (so every weekday falls on every date); undefined when they never meet.
 */
export function firstCommonRun(a: CronSchedule, b: CronSchedule): Date | undefined {
  const minute = [...a.minutes].sort((x, y) => x - y).find((m) => b.minutes.has(m));
  const hour = [...a.hours].sort((x, y) => x - y).find((h) => b.hours.has(h));
  if (minute === undefined || hour === undefined) return undefined;
  const start = Date.UTC(2028, 0, 1);
  for (let offset = 0; offset < 4 * 366 + 7; offset++) {
    const day = new Date(start + offset * DAY_MS);
    if (firesOn(a, day) && firesOn(b, day)) {
      return new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), hour, minute));
    }
  }
  return undefined;
}

/** Whether a schedule ever fires (e.g. "0 0 31 2 *", 31 February, never does). */
export function everFires(schedule: CronSchedule): boolean {
  return firstCommonRun(schedule, schedule) !== undefined;
}
