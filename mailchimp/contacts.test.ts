import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isValidEmail, namesOf, normaliseEmail, payloadHash, selectContacts, subscriberHash, type ProfileRow } from './contacts.js';
import { looksValid } from './emulator/store.js';

const row = (over: Partial<ProfileRow> & { distinct_id: string }): ProfileRow => ({
  email: null,
  first_name: null,
  last_name: null,
  name: null,
  last_seen: null,
  _deleted_at: null,
  ...over,
});

describe('email normalisation and validity', () => {
  const valid = ['a@x.io', 'first.last+tag@sub.example.co.uk', "o'neil@x.io", 'x_y-z@xn--bcher-kva.example', 'a@b.museum'];
  const invalid = ['', 'not-an-email', 'a@', '@x.io', 'a@@x.io', 'a b@x.io', 'a..b@x.io', '.a@x.io', 'a.@x.io', 'a@x', 'a@x.c', 'a@-x.io', 'a@x-.io', 'a@x..io', 'a@x.i0', `${'l'.repeat(65)}@x.io`, 'üser@x.io', '"quoted"@x.io'];

  it('accepts and rejects the same addresses as the emulator (an independent implementation of the rule)', () => {
    for (const e of valid) expect([e, isValidEmail(e), looksValid(e)]).toEqual([e, true, true]);
    for (const e of invalid) expect([e, isValidEmail(e), looksValid(e)]).toEqual([e, false, false]);
  });

  it('trims and lower-cases; the subscriber hash is md5 of the lower-case address', () => {
    expect(normaliseEmail('  A@X.io \t')).toBe('a@x.io');
    expect(subscriberHash('A@x.io ')).toBe(createHash('md5').update('a@x.io').digest('hex'));
  });
});

describe('names', () => {
  it('prefers first/last name, else splits name (one token → FNAME only), empty allowed', () => {
    expect(namesOf({ first_name: 'Ada', last_name: 'Lovelace', name: 'Something Else' })).toEqual({ fname: 'Ada', lname: 'Lovelace' });
    expect(namesOf({ first_name: null, last_name: 'Only', name: 'X Y' })).toEqual({ fname: '', lname: 'Only' });
    expect(namesOf({ first_name: null, last_name: null, name: '  Jean  Claude Van   Damme ' })).toEqual({ fname: 'Jean', lname: 'Claude Van Damme' });
    expect(namesOf({ first_name: null, last_name: null, name: 'Cher' })).toEqual({ fname: 'Cher', lname: '' });
    expect(namesOf({ first_name: null, last_name: null, name: '' })).toEqual({ fname: '', lname: '' });
    expect(namesOf({ first_name: '  ', last_name: null, name: '   ' })).toEqual({ fname: '', lname: '' });
  });

  it('the payload hash changes with either merge field only', () => {
    expect(payloadHash({ fname: 'A', lname: 'B' })).toBe(payloadHash({ fname: 'A', lname: 'B' }));
    expect(payloadHash({ fname: 'A', lname: 'B' })).not.toBe(payloadHash({ fname: 'A B', lname: '' }));
  });
});

describe('selectContacts', () => {
  it('drops tombstones, missing and invalid emails; dedupes by email (latest last_seen, then smallest distinct_id) and reports collisions', () => {
    const s = selectContacts([
      row({ distinct_id: 'b', email: 'A@x.io', name: 'Old Name', last_seen: 1 }),
      row({ distinct_id: 'a', email: 'a@x.io ', name: 'New Name', last_seen: 2 }),
      row({ distinct_id: 'z', email: 'tie@x.io', name: 'Zed', last_seen: 5 }),
      row({ distinct_id: 'y', email: 'TIE@x.io', name: 'Why', last_seen: 5 }),
      row({ distinct_id: 'n', email: 'null@x.io', name: 'No Seen', last_seen: null }),
      row({ distinct_id: 'm', email: 'null@x.io', name: 'Seen', last_seen: 0 }),
      row({ distinct_id: 'd', email: 'dead@x.io', name: 'Deleted', _deleted_at: 9 }),
      row({ distinct_id: 'e', email: '   ' }),
      row({ distinct_id: 'f' }),
      row({ distinct_id: 'g', email: 'nope' }),
    ]);
    expect(s.contacts.map((c) => [c.email, c.distinctId, c.fname, c.lname])).toEqual([
      ['a@x.io', 'a', 'New', 'Name'],
      ['null@x.io', 'm', 'Seen', ''],
      ['tie@x.io', 'y', 'Why', ''],
    ]);
    expect(s.collisions).toEqual([
      { email: 'a@x.io', kept: 'a', dropped: ['b'] },
      { email: 'null@x.io', kept: 'm', dropped: ['n'] },
      { email: 'tie@x.io', kept: 'y', dropped: ['z'] },
    ]);
    expect(s.skipped).toEqual({ deleted: 1, noEmail: 2, invalidEmail: 1 });
    expect(s.invalidSamples).toEqual(['nope']);
  });
});
