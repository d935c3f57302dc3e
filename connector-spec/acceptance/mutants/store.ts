/**
 * The fixture's "upstream": three small tables in memory with a logical clock. Every write ticks the clock
 * and stamps the row with it (`seq`), so a source created at clock R sees exactly the rows with seq ≤ R.
 */
export interface OrderRow {
  readonly id: string;
  readonly seq: number;
  readonly amount: number | null;
  readonly note: string | null;
  readonly tags: readonly (readonly [string, string | null])[] | null;
}

export interface CustomerRow {
  readonly id: bigint;
  readonly seq: number;
  readonly name: string;
  readonly email: string | null;
  readonly createdMs: number;
}

export interface ClickRow {
  readonly seq: number;
  readonly atMs: number | null;
  readonly url: string | null;
  readonly referrer: string | null;
}

const BASE_MS = Date.UTC(2026, 0, 1);

export class FixtureStore {
  clock = 0;
  readonly orders = new Map<string, OrderRow>();
  readonly customers: CustomerRow[] = [];
  readonly clicks: ClickRow[] = [];

  putOrder(id: string, amount: number | null, note: string | null, tags: OrderRow['tags']): void {
    this.orders.delete(id); // re-insert so Map order follows seq
    this.orders.set(id, { id, seq: ++this.clock, amount, note, tags });
  }

  addCustomer(name: string, email: string | null): void {
    const seq = ++this.clock;
    this.customers.push({ id: BigInt(100 + this.customers.length), seq, name, email, createdMs: BASE_MS + seq * 60_000 });
  }

  addClick(url: string | null, referrer: string | null): void {
    const seq = ++this.clock;
    this.clicks.push({ seq, atMs: BASE_MS + seq * 1000, url, referrer });
  }

  /** 7 orders (one updated after insert), 5 customers, 7 clicks; every nullable column null somewhere. */
  static seeded(): FixtureStore {
    const s = new FixtureStore();
    for (let i = 1; i <= 7; i++) s.putOrder(`o${i}`, i % 3 === 0 ? null : i * 10.5, i % 2 === 0 ? `note ${i}` : null, i % 4 === 0 ? null : [['color', i % 2 ? 'red' : 'blue']]);
    s.putOrder('o2', 99.5, 'updated', [['color', 'green'], ['size', null]]);
    for (let i = 1; i <= 5; i++) s.addCustomer(`customer ${i}`, i % 2 === 0 ? null : `c${i}@example.com`);
    for (let i = 1; i <= 7; i++) s.addClick(i === 4 ? null : `https://example.com/p${i}`, i % 3 === 0 ? `https://ref${i}.example` : null);
    return s;
  }

  /** What `addData` does: new keys in every table, plus an update to an existing order. */
  addData(table: string): void {
    if (table === 'orders') {
      this.putOrder('o2', 120, 'updated again', null);
      this.putOrder(`o${this.orders.size + 1}`, 7.25, 'new', [['color', 'black']]);
    } else if (table === 'customers') {
      this.addCustomer(`customer ${this.customers.length + 1}`, 'new@example.com');
    } else if (table === 'clicks') {
      this.addClick('https://example.com/new1', null);
      this.addClick('https://example.com/new2', 'https://ref.example');
    } else {
      throw new TypeError(`fixture store has no table ${table}`);
    }
  }
}
