/**
 * Route schemas are the protocol's TypeBox schemas (`@clipchat/protocol`), so Fastify
 * checks request parts with TypeBox's compiled checks: REST and WebSocket refuse bad
 * input with the same words ("clientId must be a string of 1–100 characters, got 5"),
 * as `ERR_VALIDATION` naming the field. Responses are written with JSON.stringify:
 * their schemas document the answer (and type the handlers) but never drop a field.
 */
import type { FastifyInstance } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { checker } from '@clipchat/protocol';
import { ApiError } from '../errors';

const PART_NAMES: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'headers',
};

/** Makes `app` check every route part with TypeBox and write every reply with JSON.stringify. */
export function useProtocolSchemas(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const check = checker(schema as TSchema);
    const what = PART_NAMES[httpPart ?? 'body'] ?? 'request';
    return (data: unknown) => {
      const p = check.problem(data, what);
      return p ? { error: new ApiError('ERR_VALIDATION', p.message, p.field) } : { value: data };
    };
  });
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}

declare module 'fastify' {
  interface FastifySchema {
    /** One line for the OpenAPI description at /api/docs. */
    summary?: string;
  }
}
