import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../connector-spec/index.js';
import { parseLocation, redactLocation } from './location.js';

function failure(text: string, flag?: string): ConfigError {
  try {
    parseLocation(text, flag);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`parseLocation(${JSON.stringify(text)}) did not throw`);
}

describe('parseLocation', () => {
  it('local folders: relative, absolute and file:// URLs', () => {
    expect(parseLocation('./data/lakehouse')).toEqual({ kind: 'local', dir: resolve('data/lakehouse') });
    expect(parseLocation('/srv/lake')).toEqual({ kind: 'local', dir: '/srv/lake' });
    expect(parseLocation('file:///srv/lake')).toEqual({ kind: 'local', dir: '/srv/lake' });
    expect(parseLocation('file:///srv/my%20lake')).toEqual({ kind: 'local', dir: '/srv/my lake' });
    expect(parseLocation('  lake  ')).toEqual({ kind: 'local', dir: resolve('lake') });
  });

  it('s3://bucket/prefix, with slashes and %-escapes normalised', () => {
    expect(parseLocation('s3://my-bucket')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: '' });
    expect(parseLocation('s3://my-bucket/')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: '' });
    expect(parseLocation('s3://my-bucket/lake/prod/')).toEqual({ kind: 's3', bucket: 'my-bucket', prefix: 'lake/prod' });
    expect(parseLocation('s3://my.bucket.v2//a///b')).toEqual({ kind: 's3', bucket: 'my.bucket.v2', prefix: 'a/b' });
    expect(parseLocation('s3a://b-1/x%20y')).toEqual({ kind: 's3', bucket: 'b-1', prefix: 'x y' });
    expect(parseLocation('S3://b-1/x')).toEqual({ kind: 's3', bucket: 'b-1', prefix: 'x' });
  });

  it('az://container/prefix takes the account from the environment later', () => {
    expect(parseLocation('az://lake/events')).toEqual({ kind: 'azure', container: 'lake', prefix: 'events' });
    expect(parseLocation('azure://lake')).toEqual({ kind: 'azure', container: 'lake', prefix: '' });
  });

  it('abfss://, abfs://, wasbs:// and https:// name the account', () => {
    const expected = { kind: 'azure', account: 'myaccount', container: 'lake', prefix: 'prod/tables' };
    expect(parseLocation('abfss://lake@myaccount.dfs.core.windows.net/prod/tables')).toEqual(expected);
    expect(parseLocation('abfs://lake@MyAccount.dfs.core.windows.net/prod/tables/')).toEqual(expected);
    expect(parseLocation('wasbs://lake@myaccount.blob.core.windows.net/prod/tables')).toEqual(expected);
    expect(parseLocation('https://myaccount.blob.core.windows.net/lake/prod/tables')).toEqual(expected);
    expect(parseLocation('abfss://lake@myaccount.dfs.core.chinacloudapi.cn/x')).toEqual({ kind: 'azure', account: 'myaccount', container: 'lake', prefix: 'x', endpointSuffix: 'core.chinacloudapi.cn' });
    expect(parseLocation('abfss://lake/x')).toEqual({ kind: 'azure', container: 'lake', prefix: 'x' });
  });

  it('malformed locations are ConfigErrors naming the flag, the text and the accepted forms', () => {
    const cases: Array<[string, RegExp]> = [
      ['', /empty/],
      ['s3://', /bucket name is missing/],
      ['s3://a/x', /not a valid S3 bucket name/],
      ['s3://bucket/../x', /"\." or "\.\."/],
      ['s3://bucket/%zz', /malformed %-escape/],
      ['gs://bucket/x', /gs:\/\/ is not supported/],
      ['http://example.com/lake', /http:\/\/ is not supported/],
      ['https://example.com/lake', /only Azure Blob URLs/],
      ['az://Bad_Container/x', /not a valid Azure container name/],
      ['az://a--b/x', /not a valid Azure container name/],
      ['abfss://lake@example.com/x', /not an Azure storage host/],
      ['abfss://@acct.dfs.core.windows.net/x', /container name is missing/],
      ['s3://bucket/x#frag', /#fragment/],
    ];
    for (const [text, problem] of cases) {
      const error = failure(text);
      expect(error.code, text).toBe('LAKEHOUSE_LOCATION');
      expect(error.message, text).toMatch(problem);
      expect(error.message, text).toContain('--lakehouse');
      expect(error.message, text).toContain('s3://bucket/prefix');
      expect(error.message, text).toContain('abfss://container@account.dfs.core.windows.net/prefix');
    }
    expect(failure('gs://b/x', '--mailchimp-lakehouse').message).toContain('--mailchimp-lakehouse "gs://b/x"');
  });

  it('credentials in the URL are refused and never echoed', () => {
    const sas = 'sv=2024-11-04&ss=b&srt=co&sp=rwdlac&se=2030-01-01T00:00:00Z&sig=SECRETSIGNATURE%3D';
    for (const text of [`az://lake/x?${sas}`, `https://acct.blob.core.windows.net/lake?${sas}`, `s3://bucket/x?X-Amz-Signature=SECRETSIGNATURE`]) {
      const error = failure(text);
      expect(error.message).toMatch(/query string/);
      expect(error.message).not.toContain('SECRETSIGNATURE');
      expect(error.message).toContain('<redacted>');
    }
    const keyInUrl = failure('s3://AKIAEXAMPLE:SECRETKEY@bucket/x');
    expect(keyInUrl.message).toMatch(/user:password/);
    expect(keyInUrl.message).not.toContain('SECRETKEY');
    expect(keyInUrl.message).not.toContain('AKIAEXAMPLE');
    expect(failure('s3://someone@bucket/x').message).toMatch(/takes no user name/);
  });
});

describe('redactLocation', () => {
  it('keeps the location readable and drops anything that can be a credential', () => {
    expect(redactLocation('s3://bucket/prefix')).toBe('s3://bucket/prefix');
    expect(redactLocation('abfss://lake@acct.dfs.core.windows.net/x')).toBe('abfss://lake@acct.dfs.core.windows.net/x');
    expect(redactLocation('az://lake/x?sv=1&sig=abc')).toBe('az://lake/x?<redacted>');
    expect(redactLocation('s3://key:secret@bucket/x')).toBe('s3://<redacted>@bucket/x');
    expect(redactLocation('./data/lakehouse')).toBe('./data/lakehouse');
  });
});
