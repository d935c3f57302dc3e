/**
 * From engage rows to Mailchimp contacts: normalise and validate the email, derive FNAME/LNAME, drop
 * tombstones, dedupe by email (latest `last_seen` wins, then the smallest `distinct_id`), report collisions.
 * Pure functions, no I/O.
 */
import { createHash } from 'node:crypto';

/** The engage columns the sync reads (one row of the lakehouse table). */
export interface ProfileRow {
  readonly distinct_id: string;
  readonly email: string | null;
  readonly first_name: string | null;
  readonly last_name: string | null;
  readonly name: string | null;
  /** ms since epoch (UTC), or null. */
  readonly last_seen: number | null;
  readonly _deleted_at: number | null;
}

export interface Contact {
  /** Trimmed, lower-case, valid. */
  readonly email: string;
  /** md5 of the lower-case email: Mailchimp's member id. */
  readonly subscriberHash: string;
  readonly fname: string;
  readonly lname: string;
  readonly distinctId: string;
  readonly lastSeen: number | null;
}

export interface Collision {
  readonly email: string;
  /** The profile whose name is sent. */
  readonly kept: string;
  /** Other profiles with the same normalised email. */
  readonly dropped: readonly string[];
}

export interface ContactSelection {
  readonly contacts: Contact[];
  readonly collisions: Collision[];
  readonly skipped: { readonly deleted: number; readonly noEmail: number; readonly invalidEmail: number };
  /** Up to 20 invalid emails, as found (for the report). */
  readonly invalidSamples: string[];
}

export function normaliseEmail(raw: string): string {
  return raw.trim().toLowerCase();
}

const LOCAL_ATOM = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+$/;
const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const TLD = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

/**
 * Mailchimp's syntax rule for `email_address` (what its API answers "Please provide a valid email address" to):
 * one `@`, a dot-atom local part of at most 64 characters (no leading, trailing or doubled dot, no quotes,
 * no spaces), a domain of at least two DNS labels with an alphabetic (or punycode) top-level label, at most
 * 254 characters in all, ASCII only. Expects a normalised (trimmed, lower-case) address. Mailchimp also rejects
 * some syntactically valid addresses it considers fake; those come back as per-member errors.
 */
export function isValidEmail(email: string): boolean {
  if (email.length === 0 || email.length > 254) return false;
  const at = email.indexOf('@');
  if (at <= 0 || at !== email.lastIndexOf('@')) return false;
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.length > 64) return false;
  if (!local.split('.').every((atom) => LOCAL_ATOM.test(atom))) return false;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  if (!labels.every((label) => DOMAIN_LABEL.test(label))) return false;
  return TLD.test(labels[labels.length - 1]!);
}

export function subscriberHash(email: string): string {
  return createHash('md5').update(normaliseEmail(email)).digest('hex');
}

function clean(value: string | null): string {
  return value === null ? '' : value.trim().replace(/\s+/g, ' ');
}

/** FNAME/LNAME: `first_name`/`last_name` when either is set; else `name` split on whitespace (first token, rest). */
export function namesOf(row: Pick<ProfileRow, 'first_name' | 'last_name' | 'name'>): { fname: string; lname: string } {
  const first = clean(row.first_name);
  const last = clean(row.last_name);
  if (first !== '' || last !== '') return { fname: first, lname: last };
  const tokens = clean(row.name).split(' ').filter((t) => t !== '');
  if (tokens.length === 0) return { fname: '', lname: '' };
  return { fname: tokens[0]!, lname: tokens.slice(1).join(' ') };
}

/** True when `a` should win over `b` for the same email: later last_seen, then smaller distinct_id. */
function wins(a: ProfileRow, b: ProfileRow): boolean {
  const la = a.last_seen ?? Number.NEGATIVE_INFINITY;
  const lb = b.last_seen ?? Number.NEGATIVE_INFINITY;
  if (la !== lb) return la > lb;
  return a.distinct_id < b.distinct_id;
}

export function selectContacts(rows: Iterable<ProfileRow>): ContactSelection {
  const byEmail = new Map<string, { winner: ProfileRow; all: string[] }>();
  let deleted = 0;
  let noEmail = 0;
  let invalidEmail = 0;
  const invalidSamples: string[] = [];
  for (const row of rows) {
    if (row._deleted_at !== null) {
      deleted++;
      continue;
    }
    const email = row.email === null ? '' : normaliseEmail(row.email);
    if (email === '') {
      noEmail++;
      continue;
    }
    if (!isValidEmail(email)) {
      invalidEmail++;
      if (invalidSamples.length < 20) invalidSamples.push(email);
      continue;
    }
    const entry = byEmail.get(email);
    if (entry === undefined) byEmail.set(email, { winner: row, all: [row.distinct_id] });
    else {
      entry.all.push(row.distinct_id);
      if (wins(row, entry.winner)) entry.winner = row;
    }
  }
  const contacts: Contact[] = [];
  const collisions: Collision[] = [];
  for (const [email, { winner, all }] of [...byEmail].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const { fname, lname } = namesOf(winner);
    contacts.push({ email, subscriberHash: subscriberHash(email), fname, lname, distinctId: winner.distinct_id, lastSeen: winner.last_seen });
    if (all.length > 1) collisions.push({ email, kept: winner.distinct_id, dropped: all.filter((id) => id !== winner.distinct_id).sort() });
  }
  return { contacts, collisions, skipped: { deleted, noEmail, invalidEmail }, invalidSamples };
}

/** What is compared between runs: the merge fields we send (status is never part of an update). */
export function payloadHash(fields: { readonly fname: string; readonly lname: string }): string {
  return createHash('sha256').update(JSON.stringify({ FNAME: fields.fname, LNAME: fields.lname })).digest('hex').slice(0, 32);
}
