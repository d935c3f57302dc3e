/**
 * Deterministic Mixpanel-shaped records for the bench: export lines (`{"event", "properties"}`, ~850 bytes, 30
 * standard properties + 5–10 custom ones of mixed types) and engage profiles (`{"$distinct_id", "$properties"}`).
 * Pure: the output is a function of (seed, index, day), so two runs produce byte-identical files.
 */

import { seededRandom } from '../connector-spec/testing/seeded-random.js';

/** mulberry32 (connector-spec/testing/seeded-random.ts). */
export const prng = seededRandom;

const EVENTS = ['Page View', 'Sign Up', 'Add To Cart', 'Purchase', 'Search', 'Video Play', 'Share', 'Login'] as const;
const OS = ['Mac OS X', 'Windows', 'Linux', 'iOS', 'Android', 'Chrome OS'] as const;
const BROWSERS = ['Chrome', 'Safari', 'Firefox', 'Microsoft Edge', 'Opera'] as const;
const LIBS = ['web', 'web', 'web', 'android', 'iphone', 'python', 'react-native'] as const;
const GEO = [
  ['München', 'Bayern', 'DE'],
  ['San Francisco', 'California', 'US'],
  ['São Paulo', 'São Paulo', 'BR'],
  ['Zürich', 'Zürich', 'CH'],
  ['London', 'England', 'GB'],
  ['Paris', 'Île-de-France', 'FR'],
  ['Tokyo', 'Tokyo', 'JP'],
  ['New York', 'New York', 'US'],
  ['Bengaluru', 'Karnataka', 'IN'],
  ['Montréal', 'Québec', 'CA'],
] as const;
const REFERRERS = ['https://www.google.com/', 'https://news.ycombinator.com/', 'https://t.co/', '$direct'] as const;
const PATHS = ['/', '/pricing', '/docs/getting-started', '/blog/release-notes-2026', '/checkout/step-2', '/account/settings'] as const;
const PLANS = ['free', 'starter', 'pro', 'enterprise'] as const;
const UTM = ['newsletter', 'google', 'twitter', 'partner'] as const;

const B36 = '0123456789abcdefghijklmnopqrstuvwxyz';

function pick<T>(items: readonly T[], r: number): T {
  return items[Math.floor(r * items.length)] as T;
}

function base36(rand: () => number, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += B36[Math.floor(rand() * 36)];
  return s;
}

function uuid(rand: () => number): string {
  const h = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += B36[Math.floor(rand() * 16)];
    return s;
  };
  return `${h(8)}-${h(4)}-4${h(3)}-a${h(3)}-${h(12)}`;
}

/** JSON text of a string that is known to need no escaping (all generator strings). */
function q(s: string): string {
  return `"${s}"`;
}

/**
 * Custom properties: 5–10 of mixed types (string, int, float, bool, null, array, object), mean ≈ 7.5.
 * Returned as `,"k":v` fragments ready to append.
 */
function customProperties(rand: () => number, eventName: string): string {
  const count = 5 + Math.floor(rand() * 6);
  const parts: string[] = [];
  const all = [
    () => `"plan":${q(pick(PLANS, rand()))}`,
    () => `"cart_value":${(Math.floor(rand() * 100_000) / 100).toFixed(2)}`,
    () => `"item_count":${Math.floor(rand() * 12)}`,
    () => `"is_trial":${rand() < 0.3}`,
    () => `"coupon":null`,
    () => `"tags":[${q(pick(PLANS, rand()))},${q(pick(UTM, rand()))}]`,
    () => `"experiment":{"id":${Math.floor(rand() * 40)},"v":${q(rand() < 0.5 ? 'A' : 'B')}}`,
    () => `"session_length_s":${Math.floor(rand() * 3600)}`,
    () => `"feature_flag":${q(`ff_${base36(rand, 6)}`)}`,
    () => `"page_title":${q(`${eventName} – ${pick(PATHS, rand())}`)}`,
  ];
  for (let i = 0; i < count; i++) parts.push(all[i]!());
  return `,${parts.join(',')}`;
}

export interface EventLineOptions {
  readonly timeMs: number;
  readonly processingMs: number;
}

/** One export line (without the trailing newline) for global event index `index`. */
export function eventLine(seed: number, index: number, at: EventLineOptions): string {
  const rand = prng((seed * 0x9e3779b1) ^ index);
  const name = pick(EVENTS, rand());
  const user = Math.floor(rand() * 200_000);
  const [city, region, country] = pick(GEO, rand());
  const os = pick(OS, rand());
  const browser = pick(BROWSERS, rand());
  const lib = pick(LIBS, rand());
  const referrer = pick(REFERRERS, rand());
  const referringDomain = referrer === '$direct' ? '$direct' : referrer.slice(8, -1);
  const initial = rand() < 0.7 ? '$direct' : referrer;
  const path = pick(PATHS, rand());
  const wide = rand() < 0.5;
  const insertId = base36(rand, 16);
  const deviceId = uuid(rand);
  const utm = rand() < 0.2 ? `,"utm_source":${q(pick(UTM, rand()))},"utm_medium":"email","utm_campaign":"spring-2026"` : '';
  const p =
    `"time":${at.timeMs},"distinct_id":"user-${user}","$insert_id":${q(insertId)},` +
    `"mp_processing_time_ms":${at.processingMs},"$mp_api_endpoint":"api-js.mixpanel.com",` +
    `"$mp_event_size":${600 + Math.floor(rand() * 400)},` +
    `"mp_lib":${q(lib)},"$lib_version":"2.55.${Math.floor(rand() * 4)}",` +
    `"$os":${q(os)},"$os_version":"${10 + Math.floor(rand() * 8)}","$browser":${q(browser)},"$browser_version":${100 + Math.floor(rand() * 30)},` +
    `"$device_id":${q(deviceId)},"$wifi":${rand() < 0.5},` +
    `"$current_url":"https://ex.io${path}","$referrer":${q(referrer)},` +
    `"$referring_domain":${q(referringDomain)},"$initial_referrer":${q(initial)},` +
    `"$initial_referring_domain":${q(initial === '$direct' ? '$direct' : referringDomain)},"$screen_height":${wide ? 1080 : 900},` +
    `"$screen_width":${wide ? 1920 : 1440},"$city":${q(city)},"$region":${q(region)},"mp_country_code":${q(country)},` +
    `"$import":true${utm}`;
  return `{"event":${q(name)},"properties":{${p}${customProperties(rand, name)}}}`;
}

/** `YYYY-MM-DDTHH:MM:SS` (UTC), the engage date format. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/** One engage profile object (JSON text) for profile index `index`; `lastSeenMs` is its `$last_seen`. */
export function profileJson(seed: number, index: number, lastSeenMs: number): string {
  const rand = prng((seed * 0x85ebca6b) ^ (index + 0x5bd1e995));
  const [city, region, country] = pick(GEO, rand());
  const first = pick(['Ana', 'Jörg', 'Li', 'Maya', 'Noah', 'Zoë', 'Ravi', 'Sam'] as const, rand());
  const last = pick(['Müller', 'Smith', 'García', 'Tanaka', 'Okafor', 'Dubois'] as const, rand());
  const created = lastSeenMs - Math.floor(rand() * 400 * 86_400_000);
  const p =
    `"$email":"${first.toLowerCase()}.${index}@example.com","$first_name":${q(first)},"$last_name":${q(last)},` +
    `"$name":${q(`${first} ${last}`)},"$created":${q(isoSeconds(created))},"$last_seen":${q(isoSeconds(lastSeenMs))},` +
    `"$city":${q(city)},"$region":${q(region)},"$country_code":${q(country)},"$timezone":"Europe/Berlin",` +
    `"$os":${q(pick(OS, rand()))},"$browser":${q(pick(BROWSERS, rand()))},"$browser_version":${100 + Math.floor(rand() * 30)},` +
    `"$initial_referrer":"$direct","$initial_referring_domain":"$direct",` +
    `"plan":${q(pick(PLANS, rand()))},"lifetime_value":${(rand() * 5000).toFixed(2)},"seats":${1 + Math.floor(rand() * 50)},` +
    `"beta_user":${rand() < 0.1},"favorite_features":["export","alerts"]`;
  return `{"$distinct_id":"user-${index}","$properties":{${p}}}`;
}
