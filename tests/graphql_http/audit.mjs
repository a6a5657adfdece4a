// Runs graphql-http's GraphQL-over-HTTP conformance audits against a server, for tests/test_graphql_http.py.
// Usage: node audit.mjs URL. Prints {"audits": [{id, name, status, reason}, ...]} and exits 0; a failing
// audit is "error" (a MUST), "warn" (a SHOULD) or "notice" (a MAY). An audit that crashes (the server
// unreachable, say) is reported as an "error" with the crash as its reason, so every audit is listed.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}

const audits = [];
// One at a time: the results do not depend on how the server copes with 60 concurrent requests.
for (const { id, name, fn } of serverAudits({ url, fetchFn: fetch })) {
  try {
    const result = await fn();
    audits.push({ id, name, status: result.status, reason: result.reason ?? null });
  } catch (error) {
    audits.push({ id, name, status: 'error', reason: `the audit crashed: ${error}` });
  }
}
console.log(JSON.stringify({ audits }));
