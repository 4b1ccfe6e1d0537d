import Router from '@koa/router';
import { NotFoundError } from '../../lib/errors';
import type { PersonaRegistry } from '../../personas/registry';
import { toPersonaDetails, toPersonaSummary } from '../../personas/schema';

export function personaRoutes(personas: PersonaRegistry): Router {
  const router = new Router({ prefix: '/api/v1/personas' });

  router.get('/', (ctx) => {
    ctx.body = { personas: personas.list().map(toPersonaSummary) };
  });

  router.get('/:id', (ctx) => {
    const persona = personas.get(ctx.params.id ?? '');
    if (!persona) throw new NotFoundError(`Persona ${ctx.params.id} not found`);
    ctx.body = toPersonaDetails(persona);
  });

  return router;
}
