/**
 * autocannon for rows with many sessions: every request carries the next session cookie of a
 * list, round robin (the autocannon CLI sends one fixed header set). Runs in its own process and
 * prints autocannon's JSON result, as `autocannon -j` does. The round robin goes on where the last
 * run over the same list stopped (kept in `<file>.next`): starting every round at the first id
 * again had each round meet the sessions the previous one left in the caches (100,000 sessions
 * read as an 11% cache hit rate where round robin over them has none).
 *
 * Usage: loadgen.ts <url> <connections> <seconds> <headers JSON> <file of session ids, one a line>
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import autocannon from 'autocannon';

const [url, connections, seconds, headers, idsFile] = process.argv.slice(2) as [string, string, string, string, string];
const ids = readFileSync(idsFile, 'utf8').split('\n').filter(Boolean);
const positionFile = `${idsFile}.next`;
let next = existsSync(positionFile) ? Number(readFileSync(positionFile, 'utf8')) : 0;
const result = await autocannon({
  url,
  connections: Number(connections),
  duration: Number(seconds),
  headers: JSON.parse(headers) as Record<string, string>,
  requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, cookie: `bff=${ids[next++ % ids.length]}` } }) }],
});
writeFileSync(positionFile, String(next % ids.length));
process.stdout.write(`${JSON.stringify(result)}\n`);
