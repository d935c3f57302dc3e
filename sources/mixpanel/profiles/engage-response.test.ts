import { describe, expect, it } from 'vitest';
import { DataError } from '../../../connector-spec/index.js';
import { parseJsonLossless } from '../json.js';
import { parseEngagePage } from './engage-response.js';

describe('parseEngagePage', () => {
  it('keeps 19-digit numeric ids exact and tolerates a missing total', () => {
    const body = parseJsonLossless('{"page":1,"page_size":1000,"session_id":"s1","status":"ok","results":[{"$distinct_id":1234567890123456789,"$properties":{"a":1}},{"$distinct_id":"x","$properties":{}}]}');
    const page = parseEngagePage(body, 'engage');
    expect(page.results.map((r) => r.distinctId)).toEqual(['1234567890123456789', 'x']);
    expect(page.total).toBeUndefined();
    expect(page.sessionId).toBe('s1');
    expect(page.pageSize).toBe(1000);
  });

  it('rejects answers that are not an Engage page', () => {
    expect(() => parseEngagePage([], 'engage')).toThrow(DataError);
    expect(() => parseEngagePage({ results: [{ $properties: {} }] }, 'engage')).toThrow(/\$distinct_id/);
    expect(() => parseEngagePage({ status: 'error', results: [] }, 'engage')).toThrow(/status "error"/);
  });
});
