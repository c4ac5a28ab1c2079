import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's `nginx-light` (or any nginx) installs the binary, or undefined when there is none. */
export function findNginx(): string | undefined {
  for (const candidate of ['nginx', '/usr/sbin/nginx']) {
    if (spawnSync(candidate, ['-v'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  return undefined;
}

/**
 * A plain nginx reverse proxy in front of the upstream: the yardstick a BFF is compared with.
 * Tuned as a production proxy would be (keep-alive to the upstream, no access log, one worker
 * per CPU), and nothing else: no authentication, no session, no header rules.
 */
export function startNginx(binary: string, port: number, upstreamUrl: string): ChildProcess {
  const prefix = mkdtempSync(join(tmpdir(), 'bench-nginx-'));
  const upstream = new URL(upstreamUrl);
  const conf = `
worker_processes auto;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  upstream api { server ${upstream.hostname}:${upstream.port}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
  }
}
`;
  writeFileSync(join(prefix, 'nginx.conf'), conf);
  return spawn(binary, ['-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
}
