/**
 * The plan: for every contact, create (Mailchimp does not have it), update (it has it with other merge
 * fields) or skip (unchanged, or archived in Mailchimp — an archived contact is never re-added, for consent).
 * Pure: the caller supplies what is known (sync state and/or what Mailchimp listed).
 */
import { payloadHash, type Contact } from './contacts.js';

export type Action = 'create' | 'update' | 'skip';

export interface Known {
  /** Hash of the merge fields Mailchimp holds, or null when unknown. */
  readonly payloadHash: string | null;
  readonly status: string | null;
}

export interface PlanEntry {
  readonly contact: Contact;
  readonly action: Action;
  readonly reason: string;
  readonly payloadHash: string;
}

export function planContacts(contacts: readonly Contact[], known: ReadonlyMap<string, Known>, archived: ReadonlySet<string>): PlanEntry[] {
  return contacts.map((contact) => {
    const hash = payloadHash(contact);
    const k = known.get(contact.email);
    if (archived.has(contact.email) || k?.status === 'archived') return { contact, action: 'skip', reason: 'archived in Mailchimp: never re-added', payloadHash: hash };
    if (k === undefined) return { contact, action: 'create', reason: 'new contact', payloadHash: hash };
    if (k.payloadHash === hash) return { contact, action: 'skip', reason: 'unchanged', payloadHash: hash };
    return { contact, action: 'update', reason: k.payloadHash === null ? 'merge fields unknown' : 'merge fields changed', payloadHash: hash };
  });
}

export function countActions(plan: readonly PlanEntry[]): Record<Action, number> {
  const out: Record<Action, number> = { create: 0, update: 0, skip: 0 };
  for (const e of plan) out[e.action]++;
  return out;
}
