/**
 * The part of `@mailchimp/mailchimp_marketing` (3.0.80, untyped JavaScript) the tests use as an independent
 * client of the emulator. Replies are `unknown`: tests validate what they read.
 */
declare module '@mailchimp/mailchimp_marketing' {
  interface MailchimpMarketing {
    basePath: string;
    setConfig(config: { apiKey?: string; server?: string; accessToken?: string }): void;
    ping: { get(): Promise<unknown> };
    lists: {
      getListMembersInfo(listId: string, opts?: { count?: number; offset?: number; status?: string; fields?: string[] }): Promise<unknown>;
      batchListMembers(listId: string, body: { members: readonly Record<string, unknown>[]; update_existing?: boolean }): Promise<unknown>;
      setListMember(listId: string, subscriberHash: string, body: Record<string, unknown>): Promise<unknown>;
      getListMember(listId: string, subscriberHash: string): Promise<unknown>;
    };
  }
  const client: MailchimpMarketing;
  export default client;
}
