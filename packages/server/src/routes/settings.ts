/** Per-user capture settings, validated by the engine's own schema. */
import type { FastifyInstance } from 'fastify';
import { AnyObject } from '@clipchat/protocol';
import { DEFAULT_SETTINGS, validateSettings, type CaptureSettings } from '@clipchat/capture';
import { requireAuth, type Ctx } from './context';

export default async function settingsRoutes(app: FastifyInstance, ctx: Ctx): Promise<void> {
  async function current(userId: string): Promise<CaptureSettings> {
    const saved = await ctx.store.getCaptureSettings(userId);
    if (!saved) return { ...DEFAULT_SETTINGS };
    // Saved settings were valid when stored; re-validate in case the schema tightened.
    try {
      return validateSettings(saved);
    } catch {
      return { ...DEFAULT_SETTINGS };
    }
  }

  app.get(
    '/api/settings/capture',
    { schema: { summary: 'My capture settings (defaults until I save some)' } },
    async (req) => {
      const { user } = await requireAuth(ctx, req);
      return current(user.id);
    },
  );

  app.put(
    '/api/settings/capture',
    {
      bodyLimit: 8192,
      schema: {
        summary: 'Replace my capture settings; omitted fields take their defaults',
        body: AnyObject,
      },
    },
    async (req) => {
      const { user } = await requireAuth(ctx, req);
      const settings = validateSettings(req.body);
      await ctx.store.putCaptureSettings(user.id, settings);
      return settings;
    },
  );
}
