/**
 * Output names of Singer records. `mp_reserved` renames a leading `$` to `mp_reserved_` as the tap does
 * (`$browser` → `mp_reserved_browser`); `stripped` drops the `$` (the lakehouse column names).
 *
 * Two namespaces share the output names: the connector's own columns (`dedupe_key`, `event`, `event_date`, …,
 * registered first, from the schema) and Mixpanel property names. Two names that would get the same output name
 * (`$plan` and a literal `mp_reserved_plan`, or a custom property called `event_date`) are told apart ONCE: the
 * name registered first keeps it, a later one gets `__2`, `__3`, … The property part of the map is per stream,
 * persisted in the Singer state (`mp_naming`) and loaded before anything else on the next run, so a property
 * always keeps its output name, whatever order records arrive in.
 */
import type { PropertyNaming } from './config.js';

export function baseName(raw: string, naming: PropertyNaming): string {
  if (!raw.startsWith('$')) return raw;
  return naming === 'mp_reserved' ? `mp_reserved_${raw.slice(1)}` : raw.slice(1);
}

export class NamingMap {
  readonly #naming: PropertyNaming;
  readonly #properties = new Map<string, string>();
  readonly #columns = new Map<string, string>();
  readonly #taken = new Set<string>();
  #added = 0;

  constructor(naming: PropertyNaming, persisted: Readonly<Record<string, string>> = {}) {
    this.#naming = naming;
    for (const [raw, out] of Object.entries(persisted)) {
      if (typeof out !== 'string' || out === '' || this.#taken.has(out)) continue;
      this.#properties.set(raw, out);
      this.#taken.add(out);
    }
  }

  #claim(base: string): string {
    let out = base;
    for (let n = 2; this.#taken.has(out); n++) out = `${base}__${n}`;
    this.#taken.add(out);
    this.#added++;
    return out;
  }

  /** The output name of a Mixpanel property (assigned on first sight, then fixed). */
  property(raw: string): string {
    const known = this.#properties.get(raw);
    if (known !== undefined) return known;
    const out = this.#claim(baseName(raw, this.#naming));
    this.#properties.set(raw, out);
    return out;
  }

  /** The output name of one of the connector's own columns (not a Mixpanel property). */
  column(name: string): string {
    const known = this.#columns.get(name);
    if (known !== undefined) return known;
    const out = this.#claim(name);
    this.#columns.set(name, out);
    return out;
  }

  /** Names assigned since construction (a new SCHEMA message is due when it grows). */
  get added(): number {
    return this.#added;
  }

  /** Property names and their output names, in assignment order. */
  propertyEntries(): [string, string][] {
    return [...this.#properties.entries()];
  }

  /** The persisted form: property raw name → output name. */
  toJSON(): Record<string, string> {
    return Object.fromEntries(this.#properties);
  }
}
