/** Plain HTTP requests from a chosen loopback source address (the hostile bench's clients). */
import { request } from 'node:http';

export interface HttpResult {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export function http(
  url: string,
  method: string,
  path: string,
  opts: { body?: string; headers?: Record<string, string>; from?: string; timeoutMs?: number } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, url);
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method,
        localAddress: opts.from,
        agent: false,
        headers: {
          ...(opts.body !== undefined
            ? {
                'content-type': 'application/json',
                'content-length': String(Buffer.byteLength(opts.body)),
              }
            : {}),
          ...opts.headers,
        },
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (d: string) => {
            body += d;
          })
          .on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}
