/**
 * Collects definition problems as `<path> <what is wrong and how to fix it>`, so `checkConfig`
 * reports every problem at once: `definition.plans.deactivate[1].request.method must be one of …`.
 */
export class Problems {
  readonly list: string[] = [];

  add(at: string, message: string): void {
    this.list.push(`${at} ${message}`);
  }

  /** Reports keys of `value` that are not in `known` (a typo such as `alredyDone` must not pass silently). */
  unknownKeys(at: string, value: Record<string, unknown>, known: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) this.add(`${at}.${key}`, `is not a known key; expected one of ${known.join(", ")}`);
    }
  }
}

/** `at` + a member: `.name` for plain names, `["urn:…"]` otherwise. */
export const member = (at: string, key: string): string => (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`);
