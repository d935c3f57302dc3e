/**
 * Deterministic generated data. Event i is a pure function of (seed, i) on a timeline anchored to a fixed
 * epoch, so two processes with one seed agree, and a time range maps to an index range arithmetically:
 * nothing is materialised. JSON lines are assembled from precomputed fragments (cheap to serve).
 */
import { hash3, pick, unit, writeToken } from './hash.js';
import { DAY_MS, cohortCreated, mixpanelDateTime } from './time.js';

/** Fixed anchor of the generated timeline (not the process start). */
export const GENERATOR_EPOCH_MS = Date.UTC(2020, 0, 1);

const PROFILE_CREATED_FROM_MS = Date.UTC(2019, 0, 1);

const SALT = {
  jitter: 1,
  late: 2,
  delay: 3,
  user: 4,
  event: 5,
  insert: 6,
  custom: 7,
  url: 8,
  amount: 9,
  anon: 10,
  profile: 20,
  cohort: 40,
} as const;

const EVENT_NAMES = ['Page Viewed', 'Page Viewed', 'Page Viewed', 'Button Clicked', 'Search', 'Add To Cart', 'Purchase', 'Signed Up', 'Login', 'Video Played'];

interface Place {
  readonly city: string;
  readonly region: string;
  readonly country: string;
  readonly timezone: string;
}

const PLACES: readonly Place[] = [
  { city: 'San Francisco', region: 'California', country: 'US', timezone: 'America/Los_Angeles' },
  { city: 'New York', region: 'New York', country: 'US', timezone: 'America/New_York' },
  { city: 'Austin', region: 'Texas', country: 'US', timezone: 'America/Chicago' },
  { city: 'London', region: 'England', country: 'GB', timezone: 'Europe/London' },
  { city: 'Berlin', region: 'Berlin', country: 'DE', timezone: 'Europe/Berlin' },
  { city: 'Paris', region: 'Île-de-France', country: 'FR', timezone: 'Europe/Paris' },
  { city: 'São Paulo', region: 'São Paulo', country: 'BR', timezone: 'America/Sao_Paulo' },
  { city: 'Bengaluru', region: 'Karnataka', country: 'IN', timezone: 'Asia/Kolkata' },
  { city: 'Tokyo', region: 'Tokyo', country: 'JP', timezone: 'Asia/Tokyo' },
  { city: 'Sydney', region: 'New South Wales', country: 'AU', timezone: 'Australia/Sydney' },
  { city: 'Zürich', region: 'Zurich', country: 'CH', timezone: 'Europe/Zurich' },
  { city: 'Toronto', region: 'Ontario', country: 'CA', timezone: 'America/Toronto' },
];

const BROWSERS = [
  { browser: 'Chrome', versions: [118, 119, 120, 121, 122] },
  { browser: 'Safari', versions: [16.6, 17, 17.2] },
  { browser: 'Firefox', versions: [120, 121] },
  { browser: 'Microsoft Edge', versions: [120, 121] },
  { browser: 'Mobile Safari', versions: [17, 17.1] },
];
const OSES = ['Windows', 'Mac OS X', 'Linux', 'iOS', 'Android', 'Chrome OS'];
const SCREENS = [
  [1920, 1080],
  [1440, 900],
  [2560, 1440],
  [390, 844],
  [412, 915],
  [1366, 768],
];
const LIBS = [
  ['web', '2.55.1'],
  ['web', '2.56.0'],
  ['android', '7.5.2'],
  ['iphone', '5.0.8'],
  ['python', '4.10.1'],
];
const PATHS = ['/', '/pricing', '/docs/getting-started', '/blog/launch', '/product/42', '/cart', '/checkout', '/search?q=shoes', '/account/settings'];
const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Dennis', 'Frances', 'Edsger', 'Hedy', 'Tim', 'Radia', 'Guido', 'Anita', 'José'];
const LAST_NAMES = ['Lovelace', 'Hopper', 'Turing', 'Torvalds', 'Hamilton', 'Thompson', 'Liskov', 'Ritchie', 'Allen', 'Dijkstra', 'Lamarr', 'Berners-Lee', 'Perlman', 'van Rossum', 'Borg', 'Müller'];
const PLANS = ['free', 'starter', 'growth', 'enterprise'];
const COHORT_NAMES = ['Power Users', 'Churn Risk', 'New Signups', 'Purchasers', 'Mobile Only', 'Trial Ending', 'High LTV', 'Dormant', 'Beta Testers', 'Newsletter'];

const CONTEXT_POOL = 1024;
const CACHE_LIMIT = 1_000_000;
/** Upper bound of a generated line's length in bytes (fragments are a few hundred bytes each). */
export const MAX_LINE_BYTES = 4096;
const DISTINCT_ID = Buffer.from(',"distinct_id":');
const INSERT_ID = Buffer.from(',"$insert_id":"');
const PROCESSING = Buffer.from('","mp_processing_time_ms":');
const SESSION_SEQ = Buffer.from(',"session_seq":');

/** Write a safe integer's decimal digits at `off`; returns the new offset. */
export function writeInteger(out: Buffer, off: number, n: number): number {
  if (n < 0) {
    out[off++] = 45;
    n = -n;
  }
  if (n < 10) {
    out[off] = 48 + n;
    return off + 1;
  }
  let digits = 0;
  for (let x = n; x >= 1; x = Math.floor(x / 10)) digits++;
  let pos = off + digits;
  const end = pos;
  while (n >= 1) {
    const d = n % 10;
    out[--pos] = 48 + d;
    n = (n - d) / 10;
  }
  return end;
}
const CUSTOM_POOL = 512;

function q(s: string): string {
  return JSON.stringify(s);
}

function hex8(seed: number, index: number, salt: number): string {
  return hash3(seed, index, salt).toString(16).padStart(8, '0');
}

function uuidFrom(seed: number, index: number, salt: number): string {
  const a = hex8(seed, index, salt * 16 + 1);
  const b = hex8(seed, index, salt * 16 + 2);
  const c = hex8(seed, index, salt * 16 + 3);
  const d = hex8(seed, index, salt * 16 + 4);
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-a${c.slice(1, 4)}-${c.slice(4)}${d}`;
}

export interface GeneratedEvent {
  readonly index: number;
  readonly name: string;
  /** True UTC event time (ms). */
  readonly timeMs: number;
  readonly procMs: number;
  readonly distinctId: string;
}

export interface GeneratorSettings {
  readonly seed: number;
  readonly eventsPerDay: number;
  /** Generated events exist at or after this instant. */
  readonly windowStartMs: number;
  readonly profiles: number;
  readonly cohorts: number;
}

/** Events, profiles and cohorts of one project, computed on demand. */
export class DataGenerator {
  readonly seed: number;
  readonly eventsPerDay: number;
  readonly windowStartMs: number;
  readonly profiles: number;
  readonly cohorts: number;
  private readonly intervalMs: number;
  private readonly userCount: number;
  // Pre-encoded UTF-8 fragments: a line is assembled by copying bytes, never by building strings.
  private readonly eventHeads: Buffer[];
  /** `<context props>,"amount":` per context slot. */
  private readonly contextBytes: Buffer[] = [];
  /** `,<custom props>}}` per custom slot. */
  private readonly customBytes: Buffer[] = [];
  private readonly pathBytes: Buffer[];
  /** Per user: `"user-N"` (quoted) and `,"$device_id":"…","$current_url":"https://shop.example.com`. */
  private readonly userIdBytes: (Buffer | undefined)[] = [];
  private readonly deviceBytes: (Buffer | undefined)[] = [];
  private readonly anonIdBytes: (Buffer | undefined)[] = [];
  private readonly scratch = Buffer.alloc(MAX_LINE_BYTES);

  constructor(settings: GeneratorSettings) {
    this.seed = settings.seed;
    this.eventsPerDay = settings.eventsPerDay;
    this.windowStartMs = settings.windowStartMs;
    this.profiles = settings.profiles;
    this.cohorts = settings.cohorts;
    this.intervalMs = settings.eventsPerDay > 0 ? DAY_MS / settings.eventsPerDay : Number.POSITIVE_INFINITY;
    this.userCount = settings.profiles > 0 ? settings.profiles : 2000;
    this.eventHeads = EVENT_NAMES.map((n) => Buffer.from(`{"event":${q(n)},"properties":{"time":`));
    this.pathBytes = PATHS.map((p) => Buffer.from(`${p}",`));
    for (let c = 0; c < CONTEXT_POOL; c++) this.contextBytes.push(Buffer.from(`${this.contextFragment(c)},"amount":`));
    for (let c = 0; c < CUSTOM_POOL; c++) this.customBytes.push(Buffer.from(`,${this.customFragment(c)}}}`));
  }

  private contextFragment(c: number): string {
    const s = this.seed;
    const b = BROWSERS[pick(s, c, 101, BROWSERS.length)] ?? BROWSERS[0];
    const version = b?.versions[pick(s, c, 102, b.versions.length)] ?? 120;
    const os = OSES[pick(s, c, 103, OSES.length)] ?? 'Linux';
    const place = PLACES[pick(s, c, 104, PLACES.length)] ?? (PLACES[0] as Place);
    const screen = SCREENS[pick(s, c, 105, SCREENS.length)] ?? [1920, 1080];
    const lib = LIBS[pick(s, c, 106, LIBS.length)] ?? ['web', '2.55.1'];
    return (
      `"$browser":${q(b?.browser ?? 'Chrome')},"$browser_version":${version},"$os":${q(os)},` +
      `"$city":${q(place.city)},"$region":${q(place.region)},"mp_country_code":${q(place.country)},` +
      `"$screen_width":${screen[0]},"$screen_height":${screen[1]},"mp_lib":${q(lib[0] as string)},"$lib_version":${q(lib[1] as string)},` +
      `"$mp_api_endpoint":"api-js.mixpanel.com","$initial_referrer":"$direct","$initial_referring_domain":"$direct"`
    );
  }

  private customFragment(c: number): string {
    const s = this.seed;
    const plan = PLANS[pick(s, c, 201, PLANS.length)] ?? 'free';
    const n = pick(s, c, 202, 1000);
    const price = Math.round(unit(s, c, 203) * 100_000) / 100;
    const flag = pick(s, c, 204, 2) === 1;
    const tags = ['alpha', 'beta', 'gamma', 'delta'].slice(0, pick(s, c, 205, 4));
    const nested = { source: ['ads', 'email', 'organic'][pick(s, c, 206, 3)], depth: { level: pick(s, c, 207, 5), ok: !flag } };
    const maybeNull = pick(s, c, 208, 4) === 0 ? 'null' : q(`ref-${n}`);
    return (
      `"plan":${q(plan)},"item_count":${n},"price":${price},"is_trial":${flag},"coupon":null,` +
      `"tags":${JSON.stringify(tags)},"ratios":[${(n % 7) / 8},${(n % 3) / 4}],"campaign":${JSON.stringify(nested)},"referral":${maybeNull}`
    );
  }

  /** Time of event i (true UTC ms): inside [epoch + i·Δ, epoch + (i+1)·Δ). */
  timeOf(i: number): number {
    return GENERATOR_EPOCH_MS + Math.floor((i + unit(this.seed, i, SALT.jitter)) * this.intervalMs);
  }

  /** Processing time of event i: seconds to minutes later, or (about 1%) hours to 3 days later. */
  processingOf(i: number, timeMs: number): number {
    const late = unit(this.seed, i, SALT.late) < 0.01;
    const u = unit(this.seed, i, SALT.delay);
    const delay = late ? 3_600_000 + Math.floor(u * (72 - 1) * 3_600_000) : 1000 + Math.floor(u * u * 600_000);
    return timeMs + delay;
  }

  /** Smallest index whose time may be ≥ `ms` (callers still check each event). */
  firstIndexAtOrAfter(ms: number): number {
    if (this.eventsPerDay <= 0) return 0;
    const start = Math.max(ms, this.windowStartMs);
    return Math.max(0, Math.floor((start - GENERATOR_EPOCH_MS) / this.intervalMs) - 1);
  }

  /** An index bound: every event with time < `ms` has a smaller index. */
  indexBound(ms: number): number {
    if (this.eventsPerDay <= 0) return 0;
    return Math.max(0, Math.ceil((ms - GENERATOR_EPOCH_MS) / this.intervalMs) + 1);
  }

  distinctIdOf(i: number): string {
    const u = pick(this.seed, i, SALT.user, this.userCount);
    if (this.profiles > 0 && unit(this.seed, i, SALT.anon) >= 0.1) return this.profileDistinctId(u);
    if (this.profiles > 0) return `$device:${uuidFrom(this.seed, i % 5000, SALT.anon)}`;
    return `user-${u}`;
  }

  eventNameIndex(i: number): number {
    return pick(this.seed, i, SALT.event, EVENT_NAMES.length);
  }

  eventName(i: number): string {
    return EVENT_NAMES[this.eventNameIndex(i)] ?? 'Page Viewed';
  }

  private userIdOf(u: number): Buffer {
    let b = this.userIdBytes[u];
    if (b === undefined) {
      b = Buffer.from(q(this.profiles > 0 ? this.profileDistinctId(u) : `user-${u}`));
      if (u < CACHE_LIMIT) this.userIdBytes[u] = b;
    }
    return b;
  }

  private anonIdOf(k: number): Buffer {
    let b = this.anonIdBytes[k];
    if (b === undefined) {
      b = Buffer.from(q(`$device:${uuidFrom(this.seed, k, SALT.anon)}`));
      this.anonIdBytes[k] = b;
    }
    return b;
  }

  private deviceOf(u: number): Buffer {
    let b = this.deviceBytes[u];
    if (b === undefined) {
      b = Buffer.from(`,"$device_id":"${uuidFrom(this.seed, u, 7)}","$current_url":"https://shop.example.com`);
      if (u < CACHE_LIMIT) this.deviceBytes[u] = b;
    }
    return b;
  }

  /**
   * Write the export line of event i (no newline) at `off`; returns the new offset. `timeValue` is the
   * already converted `time`. `out` needs MAX_LINE_BYTES free.
   */
  writeLine(out: Buffer, off: number, i: number, timeValue: number, procMs: number): number {
    const s = this.seed;
    const u = pick(s, i, SALT.user, this.userCount);
    const anon = this.profiles > 0 && unit(s, i, SALT.anon) < 0.1;
    off += (this.eventHeads[this.eventNameIndex(i)] as Buffer).copy(out, off);
    off = writeInteger(out, off, timeValue);
    off += DISTINCT_ID.copy(out, off);
    off += (anon ? this.anonIdOf(i % 5000) : this.userIdOf(u)).copy(out, off);
    off += INSERT_ID.copy(out, off);
    off = writeToken(out, off, s, i, SALT.insert, 24);
    off += PROCESSING.copy(out, off);
    off = writeInteger(out, off, procMs);
    off += this.deviceOf(u).copy(out, off);
    off += (this.pathBytes[pick(s, i, SALT.url, PATHS.length)] as Buffer).copy(out, off);
    off += (this.contextBytes[u % CONTEXT_POOL] as Buffer).copy(out, off);
    off += out.write(String(pick(s, i, SALT.amount, 100_000) / 100), off, 'latin1');
    off += SESSION_SEQ.copy(out, off);
    off = writeInteger(out, off, i % 97);
    off += (this.customBytes[pick(s, i, SALT.custom, CUSTOM_POOL)] as Buffer).copy(out, off);
    return off;
  }

  /** The export line of event i as a string (the bytes `writeLine` writes). */
  line(i: number, timeValue: number, procMs: number): string {
    const end = this.writeLine(this.scratch, 0, i, timeValue, procMs);
    return this.scratch.toString('utf8', 0, end);
  }

  // ---- profiles ----

  profileDistinctId(p: number): string {
    return `user-${p}`;
  }

  /** Index of a generated profile by distinct id, or -1. */
  profileIndex(distinctId: string): number {
    if (!distinctId.startsWith('user-')) return -1;
    const n = Number(distinctId.slice(5));
    return Number.isInteger(n) && n >= 0 && n < this.profiles && `user-${n}` === distinctId ? n : -1;
  }

  /** `$last_seen` of profile p at clock `nowMs`: the latest activity tick, moving forward with the clock. */
  lastSeenMs(p: number, nowMs: number): number {
    const period = 6 * 3_600_000 + Math.floor(unit(this.seed, p, SALT.profile + 1) * 7 * DAY_MS);
    const phase = Math.floor(unit(this.seed, p, SALT.profile + 2) * period);
    const created = this.createdMs(p);
    const tick = Math.floor((nowMs - phase) / period) * period + phase;
    return Math.max(created, tick);
  }

  /** Fixed in time (2019–2022), whatever the clock: two processes agree. */
  createdMs(p: number): number {
    return PROFILE_CREATED_FROM_MS + Math.floor(unit(this.seed, p, SALT.profile + 3) * 4 * 365 * DAY_MS);
  }

  profileProperties(p: number, nowMs: number): Record<string, unknown> {
    const s = this.seed;
    const first = FIRST_NAMES[pick(s, p, SALT.profile + 4, FIRST_NAMES.length)] as string;
    const last = LAST_NAMES[pick(s, p, SALT.profile + 5, LAST_NAMES.length)] as string;
    const place = PLACES[hash3(s, p, SALT.user) % PLACES.length] as Place;
    const plan = PLANS[pick(s, p, SALT.profile + 6, PLANS.length)] as string;
    return {
      $email: `${first.toLowerCase()}.${last.toLowerCase().replace(/[^a-z]/g, '')}${p}@example.com`,
      $first_name: first,
      $last_name: last,
      $name: `${first} ${last}`,
      $created: mixpanelDateTime(this.createdMs(p)),
      $last_seen: mixpanelDateTime(this.lastSeenMs(p, nowMs)),
      $city: place.city,
      $region: place.region,
      $country_code: place.country,
      $timezone: place.timezone,
      plan,
      lifetime_value: Math.round(unit(s, p, SALT.profile + 7) * 500_000) / 100,
      login_count: pick(s, p, SALT.profile + 8, 500),
      verified: pick(s, p, SALT.profile + 9, 3) !== 0,
      manager: null,
      interests: ['music', 'sports', 'travel', 'books'].slice(0, pick(s, p, SALT.profile + 10, 5)),
      company: { name: `Company ${pick(s, p, SALT.profile + 11, 300)}`, size: pick(s, p, SALT.profile + 12, 10_000) },
    };
  }

  // ---- cohorts ----

  cohortId(c: number): number {
    return 5000 + c;
  }

  cohortIndex(id: number): number {
    const c = id - 5000;
    return Number.isInteger(c) && c >= 0 && c < this.cohorts ? c : -1;
  }

  cohortName(c: number): string {
    const base = COHORT_NAMES[c % COHORT_NAMES.length] as string;
    return c < COHORT_NAMES.length ? base : `${base} ${Math.floor(c / COHORT_NAMES.length) + 1}`;
  }

  cohortCreated(c: number): string {
    return cohortCreated(PROFILE_CREATED_FROM_MS + (c + 1) * 3 * DAY_MS + pick(this.seed, c, SALT.cohort + 1, 86_400) * 1000);
  }

  cohortVisible(c: number): 0 | 1 {
    return c % 4 === 3 ? 0 : 1;
  }

  /** Members of generated cohort c: a deterministic share of the profiles plus 3 ids without a profile. */
  cohortMembers(c: number): string[] {
    const share = 5 + ((c * 7) % 40);
    const out: string[] = [];
    for (let p = 0; p < this.profiles; p++) {
      if (pick(this.seed, p, SALT.cohort + 10 + c, 100) < share) out.push(this.profileDistinctId(p));
    }
    for (let j = 0; j < 3; j++) out.push(`anon-c${c}-${j}`);
    return out;
  }
}
