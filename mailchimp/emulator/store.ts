/**
 * The Mailchimp emulator's audience store and the member semantics of the three list-member calls, as
 * Mailchimp documents and behaves:
 * - batch `POST /lists/{id}`: every member needs `status`; a new (or archived) contact is added with it; an
 *   existing one is an `ERROR_CONTACT_EXISTS` error unless `update_existing` is true — then its status is SET
 *   to the batch's (the consent trap: an unsubscribed member becomes subscribed again);
 * - `PUT /lists/{id}/members/{hash}`: upsert; `status_if_new` applies to a new or archived contact only,
 *   `status` (if sent) is applied to an existing one;
 * - archived members are left out of `GET …/members` unless `status=archived`; forgotten (permanently deleted)
 *   contacts cannot be re-added.
 * No HTTP here (see server.ts).
 */
import { createHash } from 'node:crypto';

export const STATUSES = ['subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional', 'archived'] as const;
export type Status = (typeof STATUSES)[number];
/** Statuses a write may ask for (archived is reached by archiving, not by a write). */
export const WRITABLE_STATUSES: readonly string[] = ['subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional'];

export interface Member {
  readonly id: string;
  email: string;
  status: Status;
  mergeFields: Record<string, string>;
  readonly createdAt: string;
  lastChanged: string;
}

export interface StatusChange {
  readonly listId: string;
  readonly email: string;
  readonly from: Status;
  readonly to: Status;
  readonly via: 'batch' | 'put' | 'data';
}

export interface BatchError {
  readonly email_address: string;
  readonly error: string;
  readonly error_code: string;
  readonly field: string;
  readonly field_message: string;
}

export function hashOf(email: string): string {
  return createHash('md5').update(email.trim().toLowerCase()).digest('hex');
}

/** Mailchimp's address syntax check (emulator copy, so the sync's validator is checked against an independent one). */
export function looksValid(email: string): boolean {
  return /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$/.test(email) && email.length <= 254 && email.indexOf('@') <= 64;
}

export class List {
  readonly members = new Map<string, Member>();
  readonly forgotten = new Set<string>();
  constructor(
    readonly id: string,
    readonly name: string,
    private readonly changes: StatusChange[],
    private readonly now: () => Date,
    private readonly rejections: ReadonlyMap<string, string>,
  ) {}

  private stamp(): string {
    return this.now().toISOString().replace(/\.\d{3}Z$/, '+00:00');
  }

  private setStatus(m: Member, to: Status, via: StatusChange['via']): void {
    if (m.status === to) return;
    this.changes.push({ listId: this.id, email: m.email, from: m.status, to, via });
    m.status = to;
    m.lastChanged = this.stamp();
  }

  private create(email: string, status: Status, merge: Record<string, string>): Member {
    const id = hashOf(email);
    const m: Member = { id, email, status, mergeFields: { FNAME: '', LNAME: '', ...merge }, createdAt: this.stamp(), lastChanged: this.stamp() };
    this.members.set(id, m);
    return m;
  }

  /** Add or overwrite a member directly (test setup), or move it to a status. */
  put(email: string, status: Status, merge: Record<string, string> = {}): Member {
    const existing = this.members.get(hashOf(email));
    if (existing === undefined) return this.create(email, status, merge);
    Object.assign(existing.mergeFields, merge);
    this.setStatus(existing, status, 'data');
    return existing;
  }

  forget(email: string): void {
    this.members.delete(hashOf(email));
    this.forgotten.add(hashOf(email));
  }

  /** Members as `GET …/members` lists them. */
  list(status: string | undefined): Member[] {
    return [...this.members.values()].filter((m) => (status === undefined ? m.status !== 'archived' : m.status === status));
  }

  private memberError(email: string): BatchError | undefined {
    const rejection = this.rejections.get(email.trim().toLowerCase());
    if (!looksValid(email)) {
      return { email_address: email, error: `${email} looks fake or invalid, please enter a real email address.`, error_code: 'ERROR_GENERIC', field: 'email_address', field_message: 'Invalid email address' };
    }
    if (rejection !== undefined) return { email_address: email, error: rejection, error_code: 'ERROR_GENERIC', field: '', field_message: '' };
    if (this.forgotten.has(hashOf(email))) {
      return {
        email_address: email,
        error: `${email} was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.`,
        error_code: 'ERROR_GENERIC',
        field: '',
        field_message: '',
      };
    }
    return undefined;
  }

  batch(members: readonly { email: string; status: Status; merge: Record<string, string> }[], updateExisting: boolean): { created: Member[]; updated: Member[]; errors: BatchError[] } {
    const created: Member[] = [];
    const updated: Member[] = [];
    const errors: BatchError[] = [];
    for (const item of members) {
      const err = this.memberError(item.email);
      if (err !== undefined) {
        errors.push(err);
        continue;
      }
      const existing = this.members.get(hashOf(item.email));
      if (existing === undefined) {
        created.push(this.create(item.email, item.status, item.merge));
      } else if (existing.status === 'archived') {
        // An archived contact is not a member: the batch re-adds it with the batch status.
        Object.assign(existing.mergeFields, item.merge);
        this.setStatus(existing, item.status, 'batch');
        created.push(existing);
      } else if (!updateExisting) {
        errors.push({
          email_address: item.email,
          error: `${item.email} is already a list member. Use PUT to insert or update list members.`,
          error_code: 'ERROR_CONTACT_EXISTS',
          field: 'email_address',
          field_message: '',
        });
      } else {
        Object.assign(existing.mergeFields, item.merge);
        this.setStatus(existing, item.status, 'batch');
        existing.lastChanged = this.stamp();
        updated.push(existing);
      }
    }
    return { created, updated, errors };
  }

  /** `PUT …/members/{hash}`. Returns the member, or a 400 problem (title, detail). */
  upsert(hash: string, email: string | undefined, status: Status | undefined, statusIfNew: Status | undefined, merge: Record<string, string>): Member | { title: string; detail: string } {
    const existing = this.members.get(hash);
    const address = email ?? existing?.email;
    if (address === undefined) return { title: 'Invalid Resource', detail: 'The resource submitted could not be validated. email_address: Required' };
    if (hashOf(address) !== hash) return { title: 'Invalid Resource', detail: 'The email address does not match the subscriber hash in the URL.' };
    const err = this.memberError(address);
    if (err !== undefined) {
      const title = this.forgotten.has(hash) ? 'Forgotten Email Not Subscribed' : 'Invalid Resource';
      return { title, detail: err.error };
    }
    if (existing === undefined || existing.status === 'archived') {
      const initial = statusIfNew ?? status;
      if (initial === undefined) return { title: 'Invalid Resource', detail: 'The resource submitted could not be validated. status_if_new: Required for a new member' };
      if (existing === undefined) return this.create(address, initial, merge);
      Object.assign(existing.mergeFields, merge);
      this.setStatus(existing, initial, 'put');
      return existing;
    }
    Object.assign(existing.mergeFields, merge);
    if (status !== undefined) this.setStatus(existing, status, 'put');
    existing.lastChanged = this.stamp();
    return existing;
  }
}
