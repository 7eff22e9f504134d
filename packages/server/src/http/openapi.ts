/** Builds the OpenAPI 3.1 description served at `/api/docs` from the routes' own schemas. */
import type { FastifyInstance, RouteOptions } from 'fastify';
import { ERRORS } from '@clipchat/protocol';

interface Op { method: string; url: string; schema?: Record<string, unknown> }

/** Call before registering routes; returns a function producing the document. */
export function collectOpenApi(app: FastifyInstance): () => Record<string, unknown> {
  const ops: Op[] = [];
  app.addHook('onRoute', (r: RouteOptions) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const m of methods) {
      if (m === 'HEAD' || m === 'OPTIONS') continue;
      ops.push({ method: m.toLowerCase(), url: r.url, schema: r.schema as Record<string, unknown> | undefined });
    }
  });
  return () => {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const op of ops) {
      if (op.url.includes('*')) continue;
      const path = op.url.replace(/:(\w+)/g, '{$1}');
      const s = op.schema ?? {};
      const params: unknown[] = [];
      for (const [where, key] of [['path', 'params'], ['query', 'querystring']] as const) {
        const props = (s[key] as { properties?: Record<string, unknown>; required?: string[] } | undefined);
        for (const [name, schema] of Object.entries(props?.properties ?? {})) {
          params.push({ name, in: where, required: where === 'path' || !!props?.required?.includes(name), schema });
        }
      }
      const o: Record<string, unknown> = {
        summary: s.summary,
        parameters: params.length ? params : undefined,
        responses: {
          ...Object.fromEntries(Object.entries((s.response as Record<string, unknown>) ?? {}).map(([k, v]) => [k, { description: 'OK', content: { 'application/json': { schema: v } } }])),
          default: { description: 'Error from the ERR_* catalogue', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        },
      };
      if (s.body) o.requestBody = { required: true, content: { 'application/json': { schema: s.body } } };
      if (op.url === '/api/media' && op.method === 'post') {
        o.requestBody = { required: true, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } };
      }
      (paths[path] ??= {})[op.method] = o;
    }
    return {
      openapi: '3.1.0',
      info: { title: 'Clipchat', version: '0.1.0', description: 'Clipchat IM server. Full prose reference: docs/api.md. WebSocket: GET /ws.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          cookie: { type: 'apiKey', in: 'cookie', name: 'clipchat_session', description: 'Mutations also need the X-CSRF-Token header.' },
        },
        schemas: {
          Error: {
            type: 'object', required: ['error'],
            properties: { error: { type: 'object', required: ['code', 'message'], properties: {
              code: { type: 'string', enum: Object.keys(ERRORS) }, message: { type: 'string' }, field: { type: 'string' }, retryAfter: { type: 'number' },
            } } },
          },
        },
      },
      security: [{ bearer: [] }, { cookie: [] }],
      'x-error-catalogue': ERRORS,
      paths,
    };
  };
}
