/**
 * Real-shaped Mixpanel export lines for the bench: the event of index i is a pure function of (seed, i); only its
 * `time` and `mp_processing_time_ms` are given, so a re-sent copy is the same line with a later processing time.
 *
 * Every event carries ~25 standard properties (non-ASCII geo and event names included) and 3–6 ordinary custom
 * ones. One in ten (HOSTILE_SHARE) also carries 1–3 hostile values: astral and right-to-left text (with a U+202E
 * override), combining marks and escaped control characters, `$`-prefixed and case-colliding keys, nested objects
 * and arrays, empty strings and nulls, standard properties of the wrong type, and numbers in every JSON form
 * (`-0.0`, `1E5`, `1e-7`, `0.1e1`, 19+ digit integers). Rarer: very long strings (0.2% of events, 8–64 KB), wide
 * events (0.5%, 200–400 properties), numeric, empty and non-ASCII `distinct_id`s (2%), and events without
 * `$insert_id` (0.1%; Mixpanel never deduplicates those, so they are never re-sent here).
 * Every line is valid JSON (strings through JSON.stringify; number forms written as text).
 */
import { prng } from '../generator.js';

/** Bumped whenever a line changes: datasets are cached under a name that carries it. */
export const REAL_GENERATOR_VERSION = 3;

/** Share of events that carry 1–3 hostile custom properties (the rest carry ordinary ones only). */
export const HOSTILE_SHARE = 0.1;

const EVENTS = ['Page View', 'Sign Up', 'Add To Cart', 'Purchase', 'Search', 'Video Play', 'Añadir al carrito', '購入', '🚀 Launch', 'تسجيل الدخول', 'Quote "x" \\ y'] as const;
const OS = ['Mac OS X', 'Windows', 'Linux', 'iOS', 'Android'] as const;
const BROWSERS = ['Chrome', 'Safari', 'Firefox', 'Microsoft Edge'] as const;
const CITIES = [
  ['München', 'Bayern', 'DE'],
  ['São Paulo', 'São Paulo', 'BR'],
  ['Tel Aviv', 'מחוז תל אביב', 'IL'],
  ['القاهرة', 'محافظة القاهرة', 'EG'],
  ['東京', '東京都', 'JP'],
  ['New York', 'New York', 'US'],
] as const;
const NUMBER_FORMS = ['-0.0', '0.0', '-0', '1E5', '1e-7', '1e21', '0.1e1', '1.0', '-1.5E+300', '5e-324', '123456789012345678901234567890', '-9223372036854775809', '12345678901234567890', '3.141592653589793238462643383279'] as const;
const TEXTS = [
  '𝄞 music, 😀 emoji, 🏳️‍🌈 a ZWJ sequence',
  'שלום עולם — right to left',
  'مرحبا بالعالم',
  'abc\u202Edef (RLO override)',
  'e\u0301 vs é (combining mark)',
  'tab\there, newline\nthere, bell\u0007, nul\u0000 (escaped)',
  'quotes " and backslashes \\ and slashes /',
  '\uFEFFleading BOM',
  'Ελληνικά, Русский, हिन्दी, 한국어',
  '',
] as const;

function pick<T>(items: readonly T[], r: number): T {
  return items[Math.floor(r * items.length)] as T;
}

function j(value: unknown): string {
  return JSON.stringify(value);
}

function token(rand: () => number, length: number): string {
  const chars = '0123456789abcdefghijklmnopqrstuvwxyz';
  let s = '';
  for (let i = 0; i < length; i++) s += chars[Math.floor(rand() * 36)];
  return s;
}

function nested(rand: () => number, depth: number): string {
  if (depth === 0 || rand() < 0.25) {
    const r = rand();
    if (r < 0.2) return pick(NUMBER_FORMS, rand());
    if (r < 0.4) return j(pick(TEXTS, rand()));
    if (r < 0.5) return 'null';
    if (r < 0.6) return rand() < 0.5 ? 'true' : 'false';
    if (r < 0.7) return rand() < 0.5 ? '{}' : '[]';
    return String(Math.floor(rand() * 1e6));
  }
  if (rand() < 0.5) {
    const n = 1 + Math.floor(rand() * 4);
    return `[${Array.from({ length: n }, () => nested(rand, depth - 1)).join(',')}]`;
  }
  const n = 1 + Math.floor(rand() * 4);
  return `{${Array.from({ length: n }, (_, k) => `${j(`k${k}${rand() < 0.2 ? '😀' : ''}`)}:${nested(rand, depth - 1)}`).join(',')}}`;
}

const PLANS = ['free', 'starter', 'pro', 'enterprise'] as const;

/** 3–6 ordinary custom properties (what most events carry), as `,"k":v` fragments. */
function ordinary(rand: () => number, eventName: string): string {
  const all = [
    () => `"plan":${j(pick(PLANS, rand()))}`,
    () => `"item_count":${Math.floor(rand() * 12)}`,
    () => `"is_trial":${rand() < 0.3}`,
    () => `"coupon":null`,
    () => `"tags":${j([pick(PLANS, rand()), 'spring-2026'])}`,
    () => `"experiment":{"id":${Math.floor(rand() * 40)},"v":${j(rand() < 0.5 ? 'A' : 'B')}}`,
    () => `"session_length_s":${Math.floor(rand() * 3600)}`,
    () => `"page_title":${j(`${eventName} – ${token(rand, 5)}`)}`,
  ];
  const count = 3 + Math.floor(rand() * 4);
  const parts: string[] = [];
  for (let i = 0; i < count; i++) parts.push(all[i]!());
  return `,${parts.join(',')}`;
}

/** 1–3 hostile custom properties (on ~10% of events), as `,"k":v` fragments. */
function hostile(rand: () => number): string {
  const parts: string[] = [];
  const count = 1 + Math.floor(rand() * 3);
  // Distinct kinds: one object never holds the same key twice (Mixpanel never sends that, and JSON parsers differ on it).
  const kinds = new Set<number>();
  while (kinds.size < count) kinds.add(Math.floor(rand() * 10));
  for (const kind of kinds) {
    switch (kind) {
      case 0:
        parts.push(`"number_form":${pick(NUMBER_FORMS, rand())}`, `"big_id":${pick(['12345678901234567890', '98765432109876543210123', '-12345678901234567890'], rand())}`);
        break;
      case 1:
        parts.push(`"text":${j(pick(TEXTS, rand()))}`, `"Text":${j(pick(TEXTS, rand()))}`); // case-colliding keys
        break;
      case 2:
        parts.push(`"$custom_dollar":${j(token(rand, 6))}`, `"$Browser":"not the standard one"`);
        break;
      case 3:
        parts.push(`"nested":${nested(rand, 6)}`);
        break;
      case 4:
        parts.push(`"empty":""`, `"nothing":null`, `"empty_list":[]`, `"empty_object":{}`);
        break;
      case 5:
        parts.push(`"$screen_dpi":"xhdpi"`, `"$duration":"12s"`); // standard properties of the wrong type: kept raw
        break;
      case 6:
        parts.push(`"ключ 😀":${j(pick(TEXTS, rand()))}`, `"TIER":"Pro"`, `"tier":"pro"`);
        break;
      case 7:
        parts.push(`"mixed_list":[1,"two",3.0,null,true,{"x":-0.0},[1E5]]`);
        break;
      case 8:
        parts.push(`"price":${(Math.floor(rand() * 1_000_000) / 100).toFixed(2)}`, `"ratio":${rand()}`);
        break;
      default:
        parts.push(`"labels":${j(['a', 'ü', '😀', ''].slice(0, 1 + Math.floor(rand() * 4)))}`);
    }
  }
  return `,${parts.join(',')}`;
}

/** 200–400 extra properties of mixed types. */
function wide(rand: () => number): string {
  const n = 200 + Math.floor(rand() * 201);
  const parts: string[] = [];
  for (let k = 0; k < n; k++) {
    const r = rand();
    const value = r < 0.4 ? j(`v${token(rand, 4)}`) : r < 0.7 ? String(Math.floor(rand() * 1e9)) : r < 0.8 ? 'null' : r < 0.9 ? (rand() < 0.5 ? 'true' : 'false') : pick(NUMBER_FORMS, rand());
    parts.push(`"p_${k}":${value}`);
  }
  return `,${parts.join(',')}`;
}

export interface RealEventTimes {
  readonly timeMs: number;
  readonly processingMs: number;
}

/** Does event `index` carry a `$insert_id`? (0.1% do not; they are never re-sent.) */
export function hasInsertId(seed: number, index: number): boolean {
  return prng(Math.imul(seed, 0x2545f491) ^ index)() >= 0.001;
}

/** One export line (no trailing newline) for the event of global index `index`. */
export function realEventLine(seed: number, index: number, at: RealEventTimes): string {
  const rand = prng(Math.imul(seed, 0x9e3779b1) ^ Math.imul(index, 0x85ebca77));
  const name = pick(EVENTS, rand());
  const d = rand();
  const distinctId = d < 0.01 ? String(100_000 + Math.floor(rand() * 9_000_000)) : d < 0.012 ? '""' : d < 0.02 ? j(`用户-${Math.floor(rand() * 5000)}`) : j(`user-${Math.floor(rand() * 200_000)}`);
  const [city, region, country] = pick(CITIES, rand());
  const insertId = hasInsertId(seed, index) ? `,"$insert_id":${j(`${token(rand, 8)}-${token(rand, 4)}-${token(rand, 12)}`)}` : '';
  const standard =
    `"time":${at.timeMs},"distinct_id":${distinctId}${insertId},"mp_processing_time_ms":${at.processingMs},` +
    `"$mp_api_endpoint":"api-js.mixpanel.com","mp_lib":${j(pick(['web', 'android', 'iphone', 'python'], rand()))},` +
    `"$lib_version":"2.55.${Math.floor(rand() * 4)}","$os":${j(pick(OS, rand()))},"$browser":${j(pick(BROWSERS, rand()))},` +
    `"$browser_version":${100 + Math.floor(rand() * 30)},"$device_id":${j(token(rand, 24))},"$current_url":${j(`https://ex.io/${token(rand, 6)}?q=${encodeURIComponent('ü&x')}`)},` +
    `"$referrer":"https://www.google.com/","$referring_domain":"www.google.com","$initial_referrer":"$direct",` +
    `"$initial_referring_domain":"$direct","$screen_height":1080,"$screen_width":1920,"$city":${j(city)},"$region":${j(region)},` +
    `"mp_country_code":${j(country)},"$import":true,"utm_source":${rand() < 0.2 ? j('newsletter') : 'null'}`;
  let extra = ordinary(rand, name);
  if (rand() < HOSTILE_SHARE) extra += hostile(rand);
  const r = rand();
  if (r < 0.002) extra += `,"long_text":${j(`${pick(TEXTS, rand())} ${'lorem ipsum dolor sit amet 😀 '.repeat(256 + Math.floor(rand() * 1800))}`)}`;
  else if (r < 0.007) extra += wide(rand);
  return `{"event":${j(name)},"properties":{${standard}${extra}}}`;
}
