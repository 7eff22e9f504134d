/**
 * Watch along: a member's play, pause or seek of a shared video, relayed to the other
 * members of the conversation (on every node, through the bus) so they can follow it.
 * Nothing is stored. Checked first: the rate limit (`watch`), membership, and that the
 * sender may see the video (a conversation's members could not open one they may not).
 */
import type { WatchFrame } from '@clipchat/protocol';
import { ApiError } from '../errors';
import type { Ctx } from '../routes/context';
import type { User } from '../store/types';

/** Videos one socket was found allowed to see; more are checked again (bounded memory). */
const MAX_CHECKED = 64;

/**
 * One socket's relay of `watch` frames, in the order they arrived (a follower must end
 * where the leader did); remembers which videos its user may see.
 */
export function watchRelay(ctx: Ctx, user: User): (f: WatchFrame) => Promise<void> {
  const allowed = new Set<string>();
  let chain: Promise<unknown> = Promise.resolve();
  return (f) => {
    // Counted on arrival, so a flood is refused at once rather than queued.
    const counted = ctx.limiter.take('watch', user.id);
    counted.catch(() => undefined);
    const done = chain.then(() => counted).then(() => relay(f));
    chain = done.catch(() => undefined);
    return done;
  };
  async function relay(f: WatchFrame): Promise<void> {
    const members = await ctx.im.requireMember(f.conversationId, user.id);
    if (!allowed.has(f.mediaId)) {
      if (!(await ctx.store.canReadMedia(user.id, f.mediaId))) {
        throw new ApiError(
          'ERR_MEDIA_NOT_FOUND',
          `no shared video ${f.mediaId.slice(0, 12)}… you may see; follow along only with videos shared with you`,
          'mediaId',
        );
      }
      if (allowed.size >= MAX_CHECKED) allowed.clear();
      allowed.add(f.mediaId);
    }
    await ctx.im.bus.publish({
      type: 'watch',
      memberIds: [...members],
      conversationId: f.conversationId,
      user: { id: user.id, username: user.username },
      mediaId: f.mediaId,
      video: f.video,
      action: f.action,
      at: f.at,
      playing: f.playing,
      sentAt: Date.now(),
    });
  }
}
