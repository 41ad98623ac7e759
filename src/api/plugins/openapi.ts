// OpenAPI generated from the zod schemas: JSON at /openapi.json, Swagger UI at /docs.
import type { FastifyInstance } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { completeContract } from './openapi-contract.js';
import { NEVER_SHED, isRateLimitedRoute } from './load-shedding.js';

export async function registerOpenApi(app: FastifyInstance, options: { rateLimitPerMinute: number }): Promise<void> {
  const facts = { neverShed: NEVER_SHED, rateLimited: (url: string) => options.rateLimitPerMinute > 0 && isRateLimitedRoute(url) };
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'order-store',
        version: '0.1.0',
        description:
          'Event-sourced orders. Every command appends events to the order stream `order-<tenantId>-<orderId>` (each tenant has its own order ids). ' +
          'Errors are application/problem+json with a stable `code`. Send `x-correlation-id` to follow a request through its events.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'API key of one tenant' } } },
    },
    transform: jsonSchemaTransform,
    transformObject: (document) => completeContract(jsonSchemaTransformObject(document) as Parameters<typeof completeContract>[0], facts) as ReturnType<typeof jsonSchemaTransformObject>,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
