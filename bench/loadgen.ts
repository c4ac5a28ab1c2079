/**
 * autocannon for rows with many sessions: every request carries the next session cookie of a
 * list, round robin (the autocannon CLI sends one fixed header set). Runs in its own process and
 * prints autocannon's JSON result, as `autocannon -j` does.
 *
 * Usage: loadgen.ts <url> <connections> <seconds> <headers JSON> <file of session ids, one a line>
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const [url, connections, seconds, headers, idsFile] = process.argv.slice(2) as [string, string, string, string, string];
const ids = readFileSync(idsFile, 'utf8').split('\n').filter(Boolean);
let next = 0;
const result = await autocannon({
  url,
  connections: Number(connections),
  duration: Number(seconds),
  headers: JSON.parse(headers) as Record<string, string>,
  requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, cookie: `bff=${ids[next++ % ids.length]}` } }) }],
});
process.stdout.write(`${JSON.stringify(result)}\n`);
